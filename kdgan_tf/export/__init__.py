"""Deployment: the trained classifier as a SavedModel and a TF Lite flatbuffer."""
from kdgan_tf.export.tflite import (convert_to_tflite, export_classifier, tflite_predict,
                                    tflite_agreement)
