#include "tests/harness/espeak.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "client/speech/wav_file.h"

namespace speech {
namespace {

// Single quotes around `text`, for /bin/sh (the sentences hold no single quote of their own).
std::string Quoted(const std::string& text) { return absl::StrCat("'", text, "'"); }

}  // namespace

absl::StatusOr<std::vector<float>> Speak(const std::string& text, const std::string& path,
                                         int sample_rate, const std::string& voice,
                                         int words_per_minute) {
  const std::string raw = path + ".espeak.wav";
  const std::string speak = absl::StrCat("espeak-ng -v ", voice, " -s ", words_per_minute,
                                         " -w ", Quoted(raw), " ", Quoted(text), " 2>&1");
  if (std::system(speak.c_str()) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("`", speak, "` failed"));
  }
  const std::string convert = absl::StrCat("sox ", Quoted(raw), " -r ", sample_rate,
                                           " -c 1 -b 16 ", Quoted(path), " 2>&1");
  if (std::system(convert.c_str()) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("`", convert, "` failed"));
  }
  std::remove(raw.c_str());
  absl::StatusOr<WavAudio> audio = ReadWav(path);
  if (!audio.ok()) return audio.status();
  return std::move(audio->samples);
}

const std::vector<std::string>& TestSentences() {
  static const auto* const sentences = new std::vector<std::string>{
      "Stop.",
      "Turn left.",
      "Turn right.",
      "Go back.",
      "Lights on.",
      "Lights off.",
      "Play some music.",
      "What time is it?",
      "Call my mother.",
      "Set a timer for ten minutes.",
      "Turn the volume down a little.",
      "Open the garage door.",
      "Is it going to rain tomorrow?",
      "Read me the news.",
      "Skip this song.",
      "Remind me to buy milk.",
      "Navigate to the nearest petrol station.",
      "How far is it to the airport from here?",
      "Send a message to Anna saying I will be late.",
      "Turn left at the next corner.",
      "Pause.",
      "Next.",
      "Yes.",
      "No, thank you.",
      "Lock the front door and turn off the kitchen lights.",
      "Add eggs, flour and sugar to the shopping list.",
      "What is the weather like in Berlin this weekend?",
      "Take a picture.",
      "Start the dishwasher in one hour.",
      "Show me my calendar for next Tuesday afternoon.",
      "The quick brown fox jumps over the lazy dog.",
      "A journey of a thousand miles begins with a single step.",
      "She sells sea shells by the sea shore.",
      "Please speak a little more slowly.",
      "Cancel.",
      "Repeat that.",
      "Find a good Italian restaurant that is open late tonight and book a table for four.",
      "My flight leaves at half past seven, so wake me up at five.",
      "How many kilometres are there in a marathon?",
      "Translate good morning into French.",
      "Turn on the heating in the living room and set it to twenty one degrees.",
      "Okay.",
      "Louder.",
      "Quieter.",
      "What is on my shopping list?",
      "Where did I park the car?",
      "Call the office and tell them the meeting has moved to Thursday at three in the "
      "afternoon because the projector in the large room is broken.",
      "Good night.",
      "Record a voice memo.",
      "When does the last train to the city leave on Sunday evenings?",
  };
  return *sentences;
}

}  // namespace speech
