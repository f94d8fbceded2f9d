// Mel spectrograms as pictures a person can look at: a mel [channels, frames] becomes an RGB
// image (time on x, mel channel on y with the lowest channel at the bottom, a magma-like colour
// map) and a PNG file. Pure functions, besides WritePng writing its one file.
#ifndef SPEECH_CLIENT_SPEECH_MEL_IMAGE_H_
#define SPEECH_CLIENT_SPEECH_MEL_IMAGE_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace speech {

// An 8-bit RGB picture. A plain value type.
struct RgbImage {
  int width = 0;
  int height = 0;
  // Rows from the top, each `width` pixels of red, green, blue: 3 * width * height bytes.
  std::vector<uint8_t> rgb;

  // The pixel at column `x`, row `y` (0 is the top row). REQUIRES: inside the image.
  std::array<uint8_t, 3> at(int x, int y) const {
    const size_t i = 3 * (static_cast<size_t>(y) * width + x);
    return {rgb[i], rgb[i + 1], rgb[i + 2]};
  }
};

// The colour of `t` on a magma-like map: black through purple and orange to pale yellow, its
// luminance rising steadily, interpolated linearly between nine control points (t = 0, 1/8, ...,
// 1). `t` outside [0, 1] is clamped; NaN counts as 0.
std::array<uint8_t, 3> MagmaColor(double t);

struct MelImageOptions {
  // Pixels per frame (x) and per mel channel (y). Must be positive.
  int frame_width_px = 2;
  int channel_height_px = 3;
  // Short mels get wider frames until the image is at least this wide (0: never). A one-second
  // sentence has about 86 frames: 2 pixels each would be a thumbnail. Must not be negative.
  int min_width_px = 640;
};

// `mel`, row-major [channels, frames] (a [1, channels, frames] tensor's elements), as a picture:
// frame t is the columns from t * w, channel c the rows ending at the bottom minus c * h (the
// lowest channel at the bottom). Values are scaled linearly from the mel's own finite minimum
// (darkest) to its maximum (brightest); the model's mel is a log magnitude already, so this is a
// dB-like scale fitted to each picture. Non-finite values are drawn darkest; a constant mel is
// drawn in the middle colour. INVALID_ARGUMENT when the sizes do not agree, either is zero, the
// options are bad, or the image would be over 2^28 pixels.
absl::StatusOr<RgbImage> RenderMel(absl::Span<const float> mel, int64_t channels, int64_t frames,
                                   const MelImageOptions& options = {});

// Writes `image` to `path` as an 8-bit RGB PNG (libpng), replacing any file there. The file error
// naming the path when it cannot be written; INVALID_ARGUMENT for an empty or inconsistent image.
absl::Status WritePng(const RgbImage& image, const std::string& path);

// RenderMel, then WritePng.
absl::Status WriteMelPng(absl::Span<const float> mel, int64_t channels, int64_t frames,
                         const std::string& path, const MelImageOptions& options = {});

}  // namespace speech

#endif  // SPEECH_CLIENT_SPEECH_MEL_IMAGE_H_
