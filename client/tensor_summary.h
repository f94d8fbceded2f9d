// One printable line per tensor, for the command-line client and logs.
#ifndef SPEECH_CLIENT_TENSOR_SUMMARY_H_
#define SPEECH_CLIENT_TENSOR_SUMMARY_H_

#include <string>

#include "client/tensor_util.h"

namespace speech {

// One line describing `tensor`, e.g.
//   OUTPUT0 FP32 [1, 80, 412]: min -1.2 max 3.4 mean 0.12 first [0.1, 0.2, 0.3, ...]
// with at most `max_values` leading elements. NaNs are counted and left out of min/max/mean;
// BOOL counts as 0/1; BYTES shows the first strings, escaped. A tensor that fails
// ValidateTensor is described as invalid instead.
std::string SummarizeTensor(const HostTensor& tensor, int max_values = 8);

}  // namespace speech

#endif  // SPEECH_CLIENT_TENSOR_SUMMARY_H_
