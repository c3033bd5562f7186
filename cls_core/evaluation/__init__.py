"""Evaluation: labelled data in, metrics, curves, thresholds, calibration and the
threshold-tuning session out.

Works on arrays of scores; never imports TensorFlow or the model I/O part. Where it needs
predictions (scoring an uploaded text file), the caller passes a predict callable in.
"""
