"""The isolation anomaly catalogue (after Hermitage) and its runner."""
