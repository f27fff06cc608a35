"""Sentence embeddings and similar pairs: the service the data stages (dedup, contamination
check) and merge-overlap build on.

`embed` embeds texts with an on-disk cache, `pairs` finds pairs above a cosine threshold within
one set or across two, `rescore` makes bf16 vectors give the fp32 pairs, `engine` chooses
between this machine and Ray (`ray_engine`).
"""
