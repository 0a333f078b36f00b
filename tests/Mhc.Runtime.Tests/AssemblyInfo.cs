// torch.manual_seed and every random initialiser share one process-wide generator: tests that build
// two models from the same seed and compare them would race with any test drawing random numbers on
// another thread. The suite is fast, so it runs serially.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
