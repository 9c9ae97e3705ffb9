"""Training data: synthetic generator, canonical dataset, converters and the YOLO materialiser."""
