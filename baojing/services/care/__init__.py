"""Care (四必访), family pairing (结对帮扶) and liaison service requests."""
