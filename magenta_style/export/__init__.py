"""Exporting a Stylizer for serving and mobile: a SavedModel (TF Hub contract) and TFLite pairs,
each verified against the Keras model before it is moved into place (`pipeline.export`)."""
