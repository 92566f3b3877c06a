"""Image tag recommendation (paper section 4.2, Table 2): ranking metrics and the
non-adversarial baselines KNN, TPROP, TFEAT and REXMP, evaluated by `kdgan_tf.tagrec.evaluate`."""
