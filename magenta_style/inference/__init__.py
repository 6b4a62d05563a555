"""Running a trained model on real inputs: the fast inference graphs, tiled inference, colour
preservation and video (frames in batches, flow stabilization, MP4 in and out)."""
