"""The project's code: the dataset, training and evaluation."""
