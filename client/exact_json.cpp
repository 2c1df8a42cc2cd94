#include "client/exact_json.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <string>

namespace coordd {
namespace {

// Builds the tree as Boost.JSON's own parser does (through a value_stack),
// watching the text of each number.
class ExactHandler {
 public:
  static constexpr std::size_t max_object_size = boost::json::object::max_size();
  static constexpr std::size_t max_array_size = boost::json::array::max_size();
  static constexpr std::size_t max_key_size = boost::json::string::max_size();
  static constexpr std::size_t max_string_size = boost::json::string::max_size();

  bool on_document_begin(boost::system::error_code&) {
    stack_.reset();
    return true;
  }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(std::size_t n, boost::system::error_code&) {
    stack_.push_array(n);
    return true;
  }
  bool on_object_begin(boost::system::error_code&) { return true; }
  bool on_object_end(std::size_t n, boost::system::error_code&) {
    stack_.push_object(n);
    return true;
  }
  bool on_string_part(std::string_view s, std::size_t, boost::system::error_code&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_string(std::string_view s, std::size_t, boost::system::error_code&) {
    stack_.push_string(s);
    return true;
  }
  bool on_key_part(std::string_view s, std::size_t, boost::system::error_code&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_key(std::string_view s, std::size_t, boost::system::error_code&) {
    stack_.push_key(s);
    return true;
  }
  bool on_number_part(std::string_view s, boost::system::error_code&) {
    number_ += s;
    return true;
  }
  bool on_int64(std::int64_t i, std::string_view, boost::system::error_code&) {
    number_.clear();
    stack_.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, std::string_view, boost::system::error_code&) {
    number_.clear();
    stack_.push_uint64(u);
    return true;
  }
  bool on_double(double d, std::string_view s, boost::system::error_code&) {
    number_ += s;
    if (number_.find_first_of(".eE") == std::string::npos) {
      stack_.push_key(kBigIntegerKey);
      stack_.push_string(number_);
      stack_.push_object(1);
    } else {
      stack_.push_double(d);
    }
    number_.clear();
    return true;
  }
  bool on_bool(bool b, boost::system::error_code&) {
    stack_.push_bool(b);
    return true;
  }
  bool on_null(boost::system::error_code&) {
    stack_.push_null();
    return true;
  }
  bool on_comment_part(std::string_view, boost::system::error_code&) { return true; }
  bool on_comment(std::string_view, boost::system::error_code&) { return true; }

  boost::json::value release() { return stack_.release(); }

 private:
  boost::json::value_stack stack_;
  std::string number_;
};

}  // namespace

boost::json::value parse_exact_json(std::string_view text, boost::system::error_code& ec) {
  boost::json::parse_options options;
  options.max_depth = kMaxLineDepth;
  boost::json::basic_parser<ExactHandler> parser(options);
  std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  for (char c : text.substr(ec ? text.size() : used)) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      ec = boost::json::error::extra_data;
      break;
    }
  }
  if (ec) return nullptr;
  return parser.handler().release();
}

}  // namespace coordd
