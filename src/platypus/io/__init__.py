"""The ground floor's input and output: readers (jsonl, json, parquet, tsv: one readable line
per problem), writers (atomic, never through a planted link) and the records of the project's
schema read and written through them."""
