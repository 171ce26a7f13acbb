print("DistBench: not yet written")
