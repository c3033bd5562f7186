"""What the pages show, built from arrays: charts (Vega-Lite dicts), score views, the lesson's
numbers, shareable links, word importance and safe formatting of untrusted strings.

Never takes a model object and never imports TensorFlow or the model I/O part.
"""
