// Element values of the KServe v2 numeric datatypes, read or converted one at a time: IEEE 754
// half precision and bfloat16 to and from float, and any numeric element as a double. Shared by
// the server (input constraints) and the clients (summaries, generated inputs).
#ifndef SPEECH_PROTO_ELEMENT_VALUES_H_
#define SPEECH_PROTO_ELEMENT_VALUES_H_

#include <cstdint>

#include "proto/tensor_types.h"

namespace speech {

// IEEE 754 half precision and bfloat16 conversions. FloatToHalf rounds to nearest even and maps
// values beyond the half range to infinity; NaN stays NaN.
float HalfToFloat(uint16_t half);
uint16_t FloatToHalf(float value);
float Bf16ToFloat(uint16_t bf16);
uint16_t FloatToBf16(float value);

// Element `index` of a packed little-endian tensor of `type`, as a double (exact for every type
// but 64-bit integers beyond 2^53). REQUIRES: `type` is neither BYTES nor invalid, and `data`
// holds at least index + 1 elements.
double ElementAsDouble(DataType type, const char* data, int64_t index);

}  // namespace speech

#endif  // SPEECH_PROTO_ELEMENT_VALUES_H_
