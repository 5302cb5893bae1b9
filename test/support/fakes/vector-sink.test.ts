import { MemoryVectorSink } from './vector-sink.js';
import { vectorSinkContract } from '../vector-sink-contract.js';

// The topology tests' fake keeps the same contract as the real sinks.
vectorSinkContract('MemoryVectorSink', async () => {
  const sink = new MemoryVectorSink('contract');
  return { sink, reopen: () => sink, cleanup: async () => {} };
});
