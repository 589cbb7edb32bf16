import './base.css';
import './graph.css';
import './jobs.css';
