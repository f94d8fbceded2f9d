#include "client/speech/mel_image.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "png.h"

namespace speech {
namespace {

// matplotlib's magma sampled at t = i / 8. Linear interpolation between neighbours this close
// stays within a few levels of the full map and keeps its steady rise in luminance.
constexpr uint8_t kMagma[9][3] = {
    {0, 0, 4},      {28, 16, 68},   {79, 18, 123},   {129, 37, 129},  {181, 54, 122},
    {229, 89, 100}, {251, 135, 97}, {254, 194, 135}, {252, 253, 191},
};

constexpr int64_t kMaxPixels = int64_t{1} << 28;

}  // namespace

std::array<uint8_t, 3> MagmaColor(double t) {
  if (!(t > 0)) t = 0;  // NaN too
  if (t > 1) t = 1;
  constexpr int kSegments = 8;
  const double scaled = t * kSegments;
  const int low = std::min(static_cast<int>(scaled), kSegments - 1);
  const double frac = scaled - low;
  std::array<uint8_t, 3> color;
  for (int k = 0; k < 3; ++k) {
    const double value = kMagma[low][k] + frac * (kMagma[low + 1][k] - kMagma[low][k]);
    color[k] = static_cast<uint8_t>(std::lround(value));
  }
  return color;
}

absl::StatusOr<RgbImage> RenderMel(absl::Span<const float> mel, int64_t channels, int64_t frames,
                                   const MelImageOptions& options) {
  if (channels <= 0 || frames <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("mel has ", channels, " channels and ", frames, " frames; need at least 1"));
  }
  if (static_cast<int64_t>(mel.size()) != channels * frames) {
    return absl::InvalidArgumentError(absl::StrCat("mel has ", mel.size(), " values; ", channels,
                                                   " channels x ", frames, " frames need ",
                                                   channels * frames));
  }
  if (options.frame_width_px <= 0 || options.channel_height_px <= 0 || options.min_width_px < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "frame_width_px and channel_height_px must be positive and min_width_px not negative; "
        "were ",
        options.frame_width_px, ", ", options.channel_height_px, ", ", options.min_width_px));
  }
  const int64_t frame_width =
      std::max<int64_t>(options.frame_width_px, (options.min_width_px + frames - 1) / frames);
  const int64_t width = frames * frame_width;
  const int64_t height = channels * options.channel_height_px;
  if (width > kMaxPixels || height > kMaxPixels || width * height > kMaxPixels) {
    return absl::InvalidArgumentError(
        absl::StrCat("a ", width, " x ", height, " picture is too large"));
  }

  float low = std::numeric_limits<float>::infinity();
  float high = -std::numeric_limits<float>::infinity();
  for (float value : mel) {
    if (!std::isfinite(value)) continue;
    low = std::min(low, value);
    high = std::max(high, value);
  }
  const double range = static_cast<double>(high) - low;

  RgbImage image;
  image.width = static_cast<int>(width);
  image.height = static_cast<int>(height);
  image.rgb.resize(3 * static_cast<size_t>(width) * height);
  for (int64_t c = 0; c < channels; ++c) {
    // Channel 0 (the lowest frequencies) takes the bottom rows.
    const int64_t top = (channels - 1 - c) * options.channel_height_px;
    uint8_t* row = &image.rgb[3 * static_cast<size_t>(top) * width];
    for (int64_t t = 0; t < frames; ++t) {
      const float value = mel[c * frames + t];
      double level = 0;
      if (std::isfinite(value)) level = range > 0 ? (value - low) / range : 0.5;
      const std::array<uint8_t, 3> color = MagmaColor(level);
      for (int64_t x = t * frame_width; x < (t + 1) * frame_width; ++x) {
        std::memcpy(row + 3 * x, color.data(), 3);
      }
    }
    for (int y = 1; y < options.channel_height_px; ++y) {
      std::memcpy(row + 3 * static_cast<size_t>(y) * width, row, 3 * static_cast<size_t>(width));
    }
  }
  return image;
}

absl::Status WritePng(const RgbImage& image, const std::string& path) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != 3 * static_cast<size_t>(image.width) * image.height) {
    return absl::InvalidArgumentError(absl::StrCat("cannot write a ", image.width, " x ",
                                                   image.height, " image of ", image.rgb.size(),
                                                   " bytes to ", path));
  }
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", path));
  // libpng's simplified API: no setjmp, errors come back in `png.message`.
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = PNG_FORMAT_RGB;
  const int written = png_image_write_to_stdio(&png, file, /*convert_to_8_bit=*/0, image.rgb.data(),
                                               /*row_stride=*/0, nullptr);
  const int write_error = std::ferror(file) ? errno : 0;
  const bool closed = std::fclose(file) == 0;
  const int close_error = errno;
  if (!written) {
    png_image_free(&png);
    return absl::InternalError(absl::StrCat("cannot write ", path, ": libpng: ", png.message));
  }
  if (write_error != 0 || !closed) {
    return absl::ErrnoToStatus(write_error != 0 ? write_error : close_error,
                               absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

absl::Status WriteMelPng(absl::Span<const float> mel, int64_t channels, int64_t frames,
                         const std::string& path, const MelImageOptions& options) {
  absl::StatusOr<RgbImage> image = RenderMel(mel, channels, frames, options);
  if (!image.ok()) return image.status();
  return WritePng(*image, path);
}

}  // namespace speech
