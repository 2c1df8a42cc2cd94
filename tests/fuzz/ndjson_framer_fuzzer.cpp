// Fuzzes NdjsonFramer against a model of the byte stream. The input's tail
// chooses the frame limit, the chunk sizes and when to drain; its head is the
// stream. After every next() the framer must agree with the model: the same
// status, the same frame (never holding '\n', never over the limit), the same
// buffered() count. Fuzzing of an input stops at kTooLarge, as a connection
// closes there.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proto/ndjson_framer.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using coordd::NdjsonFramer;
using Status = NdjsonFramer::Status;

class FramerUnderTest {
 public:
  explicit FramerUnderTest(std::size_t limit) : limit_(limit), framer_(limit) {}

  void feed(const std::string& bytes) {
    framer_.feed(bytes);
    fed_ += bytes;
    FUZZ_CHECK(framer_.buffered() == fed_.size() - consumed_);
  }

  // One next(), checked against the model.
  Status next() {
    std::string_view frame;
    Status status = framer_.next(frame);
    std::size_t newline = fed_.find('\n', consumed_);
    std::size_t line = (newline == std::string::npos ? fed_.size() : newline) - consumed_;
    if (line > limit_) {
      FUZZ_CHECK(status == Status::kTooLarge);
    } else if (newline == std::string::npos) {
      FUZZ_CHECK(status == Status::kNeedMore);
    } else {
      FUZZ_CHECK(status == Status::kFrame);
      std::string_view expected = std::string_view(fed_).substr(consumed_, line);
      if (!expected.empty() && expected.back() == '\r') expected.remove_suffix(1);
      FUZZ_CHECK(frame == expected);
      FUZZ_CHECK(frame.find('\n') == std::string_view::npos);
      FUZZ_CHECK(frame.size() <= limit_);
      consumed_ = newline + 1;
    }
    FUZZ_CHECK(framer_.buffered() == fed_.size() - consumed_);
    return status;
  }

  // next() until it stops returning frames.
  Status drain() {
    Status status;
    while ((status = next()) == Status::kFrame) {
    }
    return status;
  }

 private:
  std::size_t limit_;
  NdjsonFramer framer_;
  std::string fed_;           // every byte fed so far
  std::size_t consumed_ = 0;  // bytes of fed_ returned as frames, with their '\n'
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  FramerUnderTest framer(input.ConsumeIntegralInRange<std::size_t>(0, 4096));
  while (input.remaining_bytes() > 0) {
    std::size_t chunk = input.ConsumeIntegralInRange<std::size_t>(0, 512);
    framer.feed(input.ConsumeBytesAsString(chunk));
    // Sometimes take a single frame, so later feeds land on a part-consumed
    // buffer (a connection pauses like this while its queue is full).
    Status status = input.ConsumeBool() ? framer.drain() : framer.next();
    if (status == Status::kTooLarge) return 0;
  }
  framer.drain();
  return 0;
}
