#include "daemon/engine/record.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <cmath>

namespace coordd {
namespace {

bool is_id_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

bool is_alnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// Appends `text` as a JSON string literal the way Boost.JSON's serializer
// writes one (so records read before this parser existed compare equal):
// quote, backslash and control characters escaped, everything else as is.
void append_string_literal(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  // Runs that need no escape (nearly all of a record) go in at once.
  auto plain = [](char c) {
    return c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20;
  };
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = at;
    while (end < text.size() && plain(text[end])) ++end;
    out.append(text.data() + at, end - at);
    if (end == text.size()) break;
    char c = text[end];
    at = end + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:  // another control character
        out += "\\u00";
        out += kHex[(c >> 4) & 0xF];
        out += kHex[c & 0xF];
    }
  }
  out += '"';
}

// The record's fields the engine reads, by top-level key.
enum class Field {
  kNone,
  kRunId,
  kBranch,
  kReservationId,
  kClaimId,
  kExpiresAt,
  kExtendedExpiresAt,
  kMirrorOf
};

Field field_of(std::string_view key) {
  if (key == "run_id") return Field::kRunId;
  if (key == "branch") return Field::kBranch;
  if (key == "reservation_id") return Field::kReservationId;
  if (key == "claim_id") return Field::kClaimId;
  if (key == "expires_at") return Field::kExpiresAt;
  if (key == "extended_expires_at") return Field::kExtendedExpiresAt;
  if (key == kMirrorMarkerField) return Field::kMirrorOf;
  return Field::kNone;
}

// Boost.JSON's SAX interface: validates the bytes and, in the same pass,
// writes the record back compactly with every number token exactly as the
// file spells it (a tree would turn integers past 64 bits into doubles),
// and picks out the top-level string fields. It builds no tree, so nothing
// here recurses or allocates per nesting level; Boost's parser bounds the
// depth (kMaxRecordDepth).
class RecordHandler {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  explicit RecordHandler(std::size_t size_hint) { record_.data_json.reserve(size_hint); }

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_array_begin(boost::system::error_code&) { return open('['); }
  bool on_array_end(std::size_t, boost::system::error_code&) { return close(']'); }
  bool on_object_begin(boost::system::error_code&) { return open('{'); }
  bool on_object_end(std::size_t, boost::system::error_code&) { return close('}'); }
  bool on_string_part(std::string_view s, std::size_t, boost::system::error_code&) {
    text_ += s;
    return true;
  }
  bool on_string(std::string_view s, std::size_t, boost::system::error_code&) {
    text_ += s;
    if (depth_ == 1) take_field(text_);
    before_value();
    append_string_literal(record_.data_json, text_);
    text_.clear();
    return true;
  }
  bool on_key_part(std::string_view s, std::size_t, boost::system::error_code&) {
    text_ += s;
    return true;
  }
  bool on_key(std::string_view s, std::size_t, boost::system::error_code&) {
    text_ += s;
    if (!first_) record_.data_json += ',';
    append_string_literal(record_.data_json, text_);
    record_.data_json += ':';
    pending_ = depth_ == 1 ? field_of(text_) : Field::kNone;
    after_key_ = true;
    text_.clear();
    return true;
  }
  bool on_number_part(std::string_view s, boost::system::error_code&) {
    text_ += s;
    return true;
  }
  bool on_int64(std::int64_t, std::string_view s, boost::system::error_code&) {
    return number(s, true);
  }
  bool on_uint64(std::uint64_t, std::string_view s, boost::system::error_code&) {
    return number(s, true);
  }
  bool on_double(double d, std::string_view s, boost::system::error_code&) {
    return number(s, std::isfinite(d));
  }
  bool on_bool(bool b, boost::system::error_code&) { return scalar(b ? "true" : "false"); }
  bool on_null(boost::system::error_code&) { return scalar("null"); }
  bool on_comment_part(std::string_view, boost::system::error_code&) { return true; }
  bool on_comment(std::string_view, boost::system::error_code&) { return true; }

  bool not_an_object() const { return !top_is_object_; }
  bool has_infinite_number() const { return infinite_number_; }
  bool has_huge_integer() const { return huge_integer_; }
  ParsedRecord& record() { return record_; }

 private:
  // Whether the text of a number is an integer (no fraction, no exponent).
  static bool is_integer_token(std::string_view token) {
    return token.find_first_of(".eE") == std::string_view::npos;
  }

  void before_value() {
    if (!after_key_ && !first_) record_.data_json += ',';
    after_key_ = false;
    first_ = false;
  }
  bool open(char bracket) {
    if (depth_ == 0) top_is_object_ = bracket == '{';
    if (depth_ == 1) take_field(std::nullopt);
    before_value();
    record_.data_json += bracket;
    first_ = true;
    ++depth_;
    return true;
  }
  bool close(char bracket) {
    record_.data_json += bracket;
    first_ = false;
    --depth_;
    return true;
  }
  bool scalar(std::string_view text) {
    if (depth_ == 1) take_field(std::nullopt);
    before_value();
    record_.data_json += text;
    return true;
  }
  bool number(std::string_view last_part, bool finite) {
    text_ += last_part;
    if (is_integer_token(text_)) {
      std::size_t digits = text_.size() - (text_.front() == '-' ? 1 : 0);
      if (digits > kMaxRecordIntegerDigits) huge_integer_ = true;
    } else if (!finite) {
      infinite_number_ = true;
    }
    bool ok = scalar(text_);
    text_.clear();
    return ok;
  }
  // The value of a top-level key: the last occurrence of a key wins, as in
  // Python's json; a value that is not a string makes the field absent.
  void take_field(std::optional<std::string_view> value) {
    Field field = std::exchange(pending_, Field::kNone);
    std::optional<std::string> text;
    if (value) text = std::string(*value);
    switch (field) {
      case Field::kNone:
        return;
      case Field::kRunId:
        record_.run_id = text.value_or("");
        return;
      case Field::kBranch:
        record_.branch = text.value_or("");
        return;
      case Field::kReservationId:
        record_.reservation_id = std::move(text);
        return;
      case Field::kClaimId:
        record_.claim_id = std::move(text);
        return;
      case Field::kExpiresAt:
        record_.expires_at = std::move(text);
        return;
      case Field::kExtendedExpiresAt:
        record_.extended_expires_at = std::move(text);
        return;
      case Field::kMirrorOf:
        record_.mirror_of = std::move(text);
        return;
    }
  }

  ParsedRecord record_;
  std::string text_;  // the string, key or number being read
  std::size_t depth_ = 0;
  bool first_ = true;       // no value written yet in the innermost container
  bool after_key_ = false;  // the next value follows a key
  Field pending_ = Field::kNone;
  bool top_is_object_ = false;
  bool infinite_number_ = false;
  bool huge_integer_ = false;
};

bool is_json_whitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

bool is_valid_record_id(std::string_view id) {
  if (id.empty() || id.size() > 128 || !is_alnum(id.front())) return false;
  for (char c : id) {
    if (!is_id_char(c)) return false;
  }
  return id.find("..") == std::string_view::npos;
}

ClassifiedName classify_name(std::string_view file_name) {
  constexpr std::string_view kSuffix = ".json";
  if (file_name.empty() || file_name.front() == '.') return {NameClass::kIgnored, {}};
  if (file_name.size() <= kSuffix.size() || !file_name.ends_with(kSuffix)) {
    return {NameClass::kIgnored, {}};
  }
  std::string_view id = file_name.substr(0, file_name.size() - kSuffix.size());
  if (!is_valid_record_id(id)) return {NameClass::kInvalid, {}};
  return {NameClass::kRecord, id};
}

Result<ParsedRecord> parse_record(std::string_view bytes) {
  boost::json::parse_options options;
  options.max_depth = kMaxRecordDepth;
  boost::json::basic_parser<RecordHandler> parser(options, bytes.size());
  boost::system::error_code ec;
  std::size_t used = parser.write_some(false, bytes.data(), bytes.size(), ec);
  if (ec == boost::json::error::too_deep) {
    return Status::error("bad_record", "nested deeper than " + std::to_string(kMaxRecordDepth) +
                                           " levels (Python's json reads no deeper)");
  }
  if (!ec) {
    for (char c : bytes.substr(used)) {
      if (!is_json_whitespace(c)) {
        ec = boost::json::error::extra_data;
        break;
      }
    }
  }
  if (ec) return Status::error("bad_record", "invalid JSON: " + ec.message());
  RecordHandler& handler = parser.handler();
  if (handler.not_an_object()) return Status::error("bad_record", "not a JSON object");
  if (handler.has_infinite_number()) {
    return Status::error("bad_record", "a number is beyond the range of a double (about 1.8e308)");
  }
  if (handler.has_huge_integer()) {
    return Status::error("bad_record", "an integer has more than " +
                                           std::to_string(kMaxRecordIntegerDigits) +
                                           " digits (Python's int() reads no more)");
  }
  return std::move(handler.record());
}

}  // namespace coordd
