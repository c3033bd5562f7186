"""Model I/O: the model registry, SignatureDefs and TF Serving formats, training and the
dataset readers.

The only part of ``cls_core`` allowed to touch TensorFlow models. TensorFlow itself is
imported lazily, inside the functions that load, call or export a model, so importing this
package stays fast.
"""
