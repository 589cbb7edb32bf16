"""Batch workflow texts that several test folders run as real bakes."""

from __future__ import annotations

# prepare succeeds (its log is HTML that must stay text), train fails with exit code 3
TRAINING = """kind: batch
title: Training
tasks:
  - id: prepare
    image: ubuntu
    bash: echo "<script>prepared</script>"
  - id: train
    needs: [prepare]
    image: ubuntu
    bash: |
      echo training
      exit 3
"""

# the same, plus ``report`` after ``train``, which never runs
TRAINING_WITH_REPORT = TRAINING + """  - id: report
    needs: [train]
    image: ubuntu
    bash: echo never
"""
