#include "client/speech/wav_file.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/check.h"

namespace speech {
namespace {

constexpr uint16_t kFormatPcm = 0x0001;
constexpr uint16_t kFormatIeeeFloat = 0x0003;
constexpr uint16_t kFormatExtensible = 0xFFFE;
// Bytes 2..15 of every KSDATAFORMAT_SUBTYPE_* GUID that wraps a plain format tag (its first two
// bytes, little-endian): 0000xxxx-0000-0010-8000-00aa00389b71.
constexpr char kSubformatGuidTail[14] = {0x00, 0x00, 0x00,       0x00, 0x10, 0x00,       char(0x80),
                                         0x00, 0x00, char(0xAA), 0x00, 0x38, char(0x9B), 0x71};
constexpr uint32_t kStreamedSize = 0xFFFFFFFF;
// Far above any real rate; keeps rates within int.
constexpr uint32_t kMaxSampleRate = 1u << 24;

uint16_t Read16(absl::string_view bytes, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(bytes[at]) | static_cast<uint8_t>(bytes[at + 1])
                                                                     << 8);
}

uint32_t Read32(absl::string_view bytes, size_t at) {
  return static_cast<uint32_t>(Read16(bytes, at)) | static_cast<uint32_t>(Read16(bytes, at + 2))
                                                        << 16;
}

void Append16(std::string* out, uint16_t value) {
  out->push_back(static_cast<char>(value & 0xFF));
  out->push_back(static_cast<char>(value >> 8));
}

void Append32(std::string* out, uint32_t value) {
  Append16(out, static_cast<uint16_t>(value & 0xFFFF));
  Append16(out, static_cast<uint16_t>(value >> 16));
}

// A chunk id as text for error messages; unprintable bytes escaped.
std::string ChunkName(absl::string_view id) {
  std::string out;
  for (char c : id) {
    if (c >= 0x20 && c < 0x7F) {
      out.push_back(c);
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", static_cast<uint8_t>(c));
    }
  }
  return absl::StrCat("'", out, "'");
}

// What the "fmt " chunk says, with the extensible wrapper removed.
struct WavFormat {
  uint16_t tag = 0;  // kFormatPcm or kFormatIeeeFloat once validated
  int channels = 0;
  int sample_rate = 0;
  int block_align = 0;
  int bits_per_sample = 0;
};

absl::StatusOr<WavFormat> ParseFormat(absl::string_view fmt, absl::string_view name) {
  auto error = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", what));
  };
  if (fmt.size() < 16) {
    return error(absl::StrCat("'fmt ' chunk has ", fmt.size(), " bytes; at least 16 needed"));
  }
  WavFormat format;
  format.tag = Read16(fmt, 0);
  format.channels = Read16(fmt, 2);
  const uint32_t sample_rate = Read32(fmt, 4);
  if (sample_rate > kMaxSampleRate) {
    return error(absl::StrCat("header says ", sample_rate, " Hz, above the ", kMaxSampleRate,
                              " Hz this reader accepts"));
  }
  format.sample_rate = static_cast<int>(sample_rate);
  format.block_align = Read16(fmt, 12);
  format.bits_per_sample = Read16(fmt, 14);
  if (format.tag == kFormatExtensible) {
    // cbSize (2), valid bits (2), channel mask (4), subformat GUID (16).
    if (fmt.size() < 40 || Read16(fmt, 16) < 22) {
      return error(absl::StrCat("WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk has ", fmt.size(),
                                " bytes; 40 needed"));
    }
    if (std::memcmp(fmt.data() + 26, kSubformatGuidTail, sizeof(kSubformatGuidTail)) != 0) {
      return error("WAVE_FORMAT_EXTENSIBLE with an unknown subformat GUID");
    }
    format.tag = Read16(fmt, 24);
  }
  const bool pcm16 = format.tag == kFormatPcm && format.bits_per_sample == 16;
  const bool float32 = format.tag == kFormatIeeeFloat && format.bits_per_sample == 32;
  if (!pcm16 && !float32) {
    return error(absl::StrFormat(
        "unsupported sample format 0x%04x with %d bits per sample (supported: 16-bit PCM, "
        "32-bit IEEE float)",
        format.tag, format.bits_per_sample));
  }
  if (format.channels == 0 || format.sample_rate == 0) {
    return error(
        absl::StrCat("header says ", format.channels, " channels at ", format.sample_rate, " Hz"));
  }
  if (format.block_align != format.channels * format.bits_per_sample / 8) {
    return error(absl::StrCat("block size is ", format.block_align, " bytes; ", format.channels,
                              " channels of ", format.bits_per_sample, " bits need ",
                              format.channels * format.bits_per_sample / 8));
  }
  return format;
}

// The payloads of the "fmt " and "data" chunks (the first of each), found by walking the chunk
// list after the 12-byte RIFF/WAVE header.
struct WavChunks {
  std::optional<absl::string_view> fmt;
  std::optional<absl::string_view> data;
};

absl::StatusOr<WavChunks> FindChunks(absl::string_view bytes, absl::string_view name) {
  auto error = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", what));
  };
  if (bytes.size() < 12 || bytes.substr(0, 4) != "RIFF" || bytes.substr(8, 4) != "WAVE") {
    return error(bytes.size() < 12 ? "not a WAV file (shorter than the 12-byte RIFF/WAVE header)"
                                   : "not a WAV file (no RIFF/WAVE header)");
  }
  WavChunks chunks;
  size_t at = 12;
  while (at < bytes.size()) {
    if (bytes.size() - at < 8) {
      return error(absl::StrCat("truncated chunk header at byte ", at, " (", bytes.size() - at,
                                " bytes left; 8 needed)"));
    }
    const absl::string_view id = bytes.substr(at, 4);
    uint64_t size = Read32(bytes, at + 4);
    const size_t left = bytes.size() - at - 8;
    if (id == "data" && size == kStreamedSize) size = left;
    if (size > left) {
      return error(absl::StrCat("truncated: chunk ", ChunkName(id), " at byte ", at, " says ", size,
                                " bytes but only ", left, " follow"));
    }
    const absl::string_view payload = bytes.substr(at + 8, size);
    if (id == "fmt " && !chunks.fmt.has_value()) chunks.fmt = payload;
    if (id == "data" && !chunks.data.has_value()) chunks.data = payload;
    at += 8 + size + (size % 2);  // chunks are padded to even sizes
  }
  if (!chunks.fmt.has_value()) return error("no 'fmt ' chunk");
  if (!chunks.data.has_value()) return error("no 'data' chunk");
  return chunks;
}

}  // namespace

absl::StatusOr<WavAudio> ParseWav(absl::string_view bytes, absl::string_view name) {
  absl::StatusOr<WavChunks> chunks = FindChunks(bytes, name);
  if (!chunks.ok()) return chunks.status();
  absl::StatusOr<WavFormat> format = ParseFormat(*chunks->fmt, name);
  if (!format.ok()) return format.status();
  const absl::string_view data = *chunks->data;
  if (data.size() % format->block_align != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": 'data' chunk of ", data.size(), " bytes is not a whole number of ",
                     format->block_align, "-byte frames (truncated?)"));
  }
  WavAudio audio;
  audio.sample_rate = format->sample_rate;
  audio.channels = format->channels;
  if (format->tag == kFormatPcm) {
    audio.samples.resize(data.size() / 2);
    for (size_t i = 0; i < audio.samples.size(); ++i) {
      audio.samples[i] = static_cast<int16_t>(Read16(data, 2 * i)) / 32768.0f;
    }
  } else {
    audio.samples.resize(data.size() / 4);
    for (size_t i = 0; i < audio.samples.size(); ++i) {
      const uint32_t bits = Read32(data, 4 * i);
      std::memcpy(&audio.samples[i], &bits, sizeof(bits));
    }
  }
  return audio;
}

absl::StatusOr<WavAudio> ReadWav(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  std::string bytes;
  char buffer[1 << 16];
  size_t read;
  while ((read = std::fread(buffer, 1, sizeof(buffer), file)) > 0) bytes.append(buffer, read);
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) return absl::ErrnoToStatus(error, absl::StrCat("cannot read ", path));
  return ParseWav(bytes, path);
}

std::string EncodeWav(const WavAudio& audio, WavSampleFormat format) {
  SPEECH_CHECK(audio.channels > 0 && audio.sample_rate > 0, "bad WAV header: ", audio.channels,
               " channels at ", audio.sample_rate, " Hz");
  SPEECH_CHECK(audio.samples.size() % audio.channels == 0, audio.samples.size(),
               " samples are not whole frames of ", audio.channels);
  const bool pcm = format == WavSampleFormat::kPcm16;
  const uint32_t sample_bytes = pcm ? 2 : 4;
  const uint32_t data_bytes = CheckedCast<uint32_t>(audio.samples.size() * sample_bytes);
  const uint32_t block_align = audio.channels * sample_bytes;
  std::string fmt;
  Append16(&fmt, pcm ? kFormatPcm : kFormatIeeeFloat);
  Append16(&fmt, CheckedCast<uint16_t>(audio.channels));
  Append32(&fmt, CheckedCast<uint32_t>(audio.sample_rate));
  Append32(&fmt, audio.sample_rate * block_align);
  Append16(&fmt, CheckedCast<uint16_t>(block_align));
  Append16(&fmt, CheckedCast<uint16_t>(8 * sample_bytes));
  if (!pcm) Append16(&fmt, 0);  // cbSize: non-PCM formats carry it

  std::string out = "RIFF";
  const uint32_t fact_bytes = pcm ? 0 : 12;
  Append32(&out, 4 + 8 + static_cast<uint32_t>(fmt.size()) + fact_bytes + 8 + data_bytes +
                     (data_bytes % 2));
  out += "WAVEfmt ";
  Append32(&out, static_cast<uint32_t>(fmt.size()));
  out += fmt;
  if (!pcm) {
    out += "fact";
    Append32(&out, 4);
    Append32(&out, static_cast<uint32_t>(audio.frame_count()));
  }
  out += "data";
  Append32(&out, data_bytes);
  for (float sample : audio.samples) {
    if (pcm) {
      const float scaled = std::round(std::clamp(sample, -1.0f, 1.0f) * 32768.0f);
      Append16(&out, static_cast<uint16_t>(
                         static_cast<int16_t>(std::clamp(scaled, -32768.0f, 32767.0f))));
    } else {
      uint32_t bits;
      std::memcpy(&bits, &sample, sizeof(bits));
      Append32(&out, bits);
    }
  }
  if (data_bytes % 2 != 0) out.push_back('\0');
  return out;
}

}  // namespace speech
