// The size of oneDNN's primitive cache, which LibTorch's CPU convolutions go through. oneDNN
// builds (JIT-compiles) a kernel for every input shape it meets and keeps the most recent ones,
// 1,024 by default; speech batches come in many shapes (rows times padded lengths), and a stream
// of more shapes than the cache holds rebuilds kernels on every batch: one by one, 47 voice
// commands of different lengths ran at half the speed of the same audio cut to one length
// (BENCHMARKS.md, "oneDNN's primitive cache").
#ifndef SPEECH_MODELS_TORCH_PROCESS_ONEDNN_CACHE_H_
#define SPEECH_MODELS_TORCH_PROCESS_ONEDNN_CACHE_H_

namespace speech {

// Sets ONEDNN_PRIMITIVE_CACHE_CAPACITY to `capacity`, which oneDNN reads when it first creates a
// primitive: call before any model loads, before other threads start. Returns false, and
// changes nothing, when capacity <= 0 or when the environment already names a capacity
// (ONEDNN_PRIMITIVE_CACHE_CAPACITY or its older name DNNL_PRIMITIVE_CACHE_CAPACITY): the
// user's setting wins.
bool SetOneDnnPrimitiveCacheCapacity(int capacity);

}  // namespace speech

#endif  // SPEECH_MODELS_TORCH_PROCESS_ONEDNN_CACHE_H_
