/**
 * Recurrent cell kernels (SimpleRNN, LSTM, GRU gate math). Filled in by the recurrent layers'
 * author; the reference implementations live in `../reference/recurrent.ts`.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface RecurrentKernels {}
