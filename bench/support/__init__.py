"""What benchmarks and tests use and the product does not: a feed that skips the contract
check (:mod:`bench.support.feed`), the plain single-process consumer the streaming job is
measured against (:mod:`bench.support.plain`) and flight-recorder profiles of Spark jobs
(:mod:`bench.support.jfr`)."""
