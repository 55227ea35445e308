// runtime/flag_tokens.cc - tokenize_flags (forms and errors in flag_tokens.h).
#include "runtime/flag_tokens.h"

#include <cassert>

namespace ringkv::runtime {
namespace {

std::string not_defined(std::string_view name, flag_dialect dialect) {
  if (dialect == flag_dialect::go_flag) return "flag provided but not defined: -" + std::string(name);
  return "unknown flag: --" + std::string(name);
}

std::string needs_argument(std::string_view name, flag_dialect dialect) {
  return (dialect == flag_dialect::go_flag ? "flag needs an argument: -" : "flag needs an argument: --") +
         std::string(name);
}

bool looks_like_flag(const std::string& arg) { return arg.size() >= 2 && arg[0] == '-'; }

}  // namespace

flag_tokens tokenize_flags(std::span<const std::string> args,
                           const std::function<flag_arity(std::string_view name)>& arity, flag_dialect dialect) {
  flag_tokens out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      for (++i; i < args.size(); ++i) out.tokens.push_back({{}, args[i]});
      break;
    }
    if (!looks_like_flag(arg)) {
      out.tokens.push_back({{}, arg});
      continue;
    }
    std::string_view body(arg);
    body.remove_prefix(body.starts_with("--") ? 2 : 1);
    flag_token token;
    if (const auto eq = body.find('='); eq != std::string_view::npos) {
      token.value.emplace(body.substr(eq + 1));
      body = body.substr(0, eq);
    }
    if (body.empty() || body[0] == '-') {  // "--=x", "---x"
      out.error = "bad flag syntax: " + arg;
      return out;
    }
    token.name = body;
    const flag_arity kind = arity(token.name);
    if (kind == flag_arity::undefined) {
      out.error = not_defined(token.name, dialect);
      return out;
    }
    if (!token.value && kind == flag_arity::takes_value) {
      if (i + 1 >= args.size()) {
        out.error = needs_argument(token.name, dialect);
        return out;
      }
      token.value = args[++i];
    }
    assert(!token.positional());
    out.tokens.push_back(std::move(token));
  }
  return out;
}

}  // namespace ringkv::runtime
