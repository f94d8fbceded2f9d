#include "client/speech/mel_image.h"

#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "png.h"

namespace speech {
namespace {

using ::testing::HasSubstr;

using Rgb = std::array<uint8_t, 3>;
constexpr Rgb kDarkest = {0, 0, 4};
constexpr Rgb kMiddle = {181, 54, 122};
constexpr Rgb kBrightest = {252, 253, 191};

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

// Reads an RGB PNG back with libpng.
RgbImage DecodePng(const std::string& path) {
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  RgbImage image;
  if (!png_image_begin_read_from_file(&png, path.c_str())) {
    ADD_FAILURE() << "cannot read " << path << ": " << png.message;
    return image;
  }
  EXPECT_EQ(png.format & PNG_FORMAT_FLAG_COLOR, PNG_FORMAT_FLAG_COLOR);
  EXPECT_EQ(png.format & PNG_FORMAT_FLAG_ALPHA, 0u);
  png.format = PNG_FORMAT_RGB;
  image.width = static_cast<int>(png.width);
  image.height = static_cast<int>(png.height);
  image.rgb.resize(PNG_IMAGE_SIZE(png));
  EXPECT_TRUE(png_image_finish_read(&png, nullptr, image.rgb.data(), 0, nullptr)) << png.message;
  return image;
}

double Luminance(const Rgb& c) { return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; }

TEST(MagmaColorTest, RunsFromDarkToBrightWithRisingLuminance) {
  EXPECT_EQ(MagmaColor(0), kDarkest);
  EXPECT_EQ(MagmaColor(0.5), kMiddle);
  EXPECT_EQ(MagmaColor(1), kBrightest);
  EXPECT_EQ(MagmaColor(-3), kDarkest);
  EXPECT_EQ(MagmaColor(7), kBrightest);
  EXPECT_EQ(MagmaColor(std::nan("")), kDarkest);
  double previous = -1;
  for (int i = 0; i <= 256; ++i) {
    const double luminance = Luminance(MagmaColor(i / 256.0));
    EXPECT_GE(luminance, previous) << "at " << i << "/256";
    previous = luminance;
  }
  EXPECT_GT(Luminance(kBrightest) - Luminance(kDarkest), 240);
}

TEST(RenderMelTest, PutsTimeOnXAndTheLowestChannelAtTheBottom) {
  // 4 channels x 3 frames, all 0 but channel 0 at frame 1 (brightest) and channel 3 at frame 2
  // (half way).
  std::vector<float> mel(4 * 3, -10.0f);
  mel[0 * 3 + 1] = 10.0f;
  mel[3 * 3 + 2] = 0.0f;
  MelImageOptions options;
  options.frame_width_px = 2;
  options.channel_height_px = 3;
  options.min_width_px = 0;
  absl::StatusOr<RgbImage> image = RenderMel(mel, 4, 3, options);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->width, 6);
  EXPECT_EQ(image->height, 12);
  for (int y = 0; y < 12; ++y) {
    for (int x = 0; x < 6; ++x) {
      const int frame = x / 2;
      const int channel = 3 - y / 3;
      Rgb expected = kDarkest;
      if (channel == 0 && frame == 1) expected = kBrightest;
      if (channel == 3 && frame == 2) expected = kMiddle;
      EXPECT_EQ(image->at(x, y), expected) << "x " << x << " y " << y;
    }
  }
}

TEST(RenderMelTest, WidensShortMelsAndDrawsOddValues) {
  std::vector<float> mel = {1.0f, std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(), 1.0f};
  absl::StatusOr<RgbImage> image = RenderMel(mel, 2, 2);  // default options
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->width, 640);  // 2 frames of 320 pixels
  EXPECT_EQ(image->height, 6);
  // The finite values are all 1: a constant mel is drawn in the middle colour, the rest darkest.
  EXPECT_EQ(image->at(0, 5), kMiddle);     // channel 0, frame 0
  EXPECT_EQ(image->at(639, 5), kDarkest);  // channel 0, frame 1: NaN
  EXPECT_EQ(image->at(0, 0), kDarkest);    // channel 1, frame 0: infinity
  EXPECT_EQ(image->at(639, 0), kMiddle);
}

TEST(RenderMelTest, RefusesInconsistentInput) {
  const std::vector<float> mel(6, 0.0f);
  EXPECT_THAT(RenderMel(mel, 2, 4).status().message(),
              HasSubstr("mel has 6 values; 2 channels x 4 frames need 8"));
  EXPECT_EQ(RenderMel({}, 80, 0).status().code(), absl::StatusCode::kInvalidArgument);
  MelImageOptions options;
  options.channel_height_px = 0;
  EXPECT_THAT(RenderMel(mel, 2, 3, options).status().message(), HasSubstr("must be positive"));
  options.channel_height_px = 1 << 29;
  EXPECT_THAT(RenderMel(mel, 2, 3, options).status().message(), HasSubstr("too large"));
}

TEST(WritePngTest, WritesWhatLibpngReadsBack) {
  // 80 channels of a rising ramp over 50 frames, channel 5 brightest throughout.
  constexpr int kChannels = 80;
  constexpr int kFrames = 50;
  std::vector<float> mel(kChannels * kFrames);
  for (int c = 0; c < kChannels; ++c) {
    for (int t = 0; t < kFrames; ++t) mel[c * kFrames + t] = -5.0f + 0.01f * t;
  }
  for (int t = 0; t < kFrames; ++t) mel[5 * kFrames + t] = 4.0f;
  const std::string path = TempPath("ramp.png");
  MelImageOptions options;
  options.min_width_px = 0;
  ASSERT_TRUE(WriteMelPng(mel, kChannels, kFrames, path, options).ok());

  const RgbImage decoded = DecodePng(path);
  ASSERT_EQ(decoded.width, 2 * kFrames);
  ASSERT_EQ(decoded.height, 3 * kChannels);
  EXPECT_EQ(decoded.rgb, RenderMel(mel, kChannels, kFrames, options)->rgb);
  // Channel 5 is the band of rows 15..17 from the bottom.
  const int bright_top = decoded.height - 3 * 6;
  for (int y = bright_top; y < bright_top + 3; ++y) EXPECT_EQ(decoded.at(40, y), kBrightest);
  EXPECT_NE(decoded.at(40, bright_top - 1), kBrightest);
  EXPECT_NE(decoded.at(40, bright_top + 3), kBrightest);
  // The ramp: darkest at the first frame, brighter towards the last.
  EXPECT_EQ(decoded.at(0, 0), kDarkest);
  EXPECT_GT(Luminance(decoded.at(2 * kFrames - 1, 0)), Luminance(decoded.at(0, 0)));
}

TEST(WritePngTest, ReportsWhatItCannotWrite) {
  RgbImage image;
  image.width = 2;
  image.height = 1;
  image.rgb.assign(6, 0);
  const absl::Status missing_dir = WritePng(image, "/nonexistent-dir/x.png");
  EXPECT_EQ(missing_dir.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing_dir.message(), HasSubstr("cannot write /nonexistent-dir/x.png"));
  image.rgb.resize(5);
  EXPECT_EQ(WritePng(image, TempPath("bad.png")).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace speech
