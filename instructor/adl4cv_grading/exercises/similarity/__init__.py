"""Exercise 08_similarity: the judge of contrastive, triplet, batch-hard triplet and InfoNCE losses."""
