"""Speed benchmarks: news-like corpora (`newslike`) and the search benchmark (`bench_search`)."""
