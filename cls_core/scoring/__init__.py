"""The scoring contract: logits → scores (activations), scores → labels (decisions), and
outputs → TensorFlow's classification SignatureDef (export_output).

Pure numpy. TensorFlow is imported only inside ``ClassificationOutput.as_signature_def`` and
its tensor checks, never when this package is imported.
"""
