// libFuzzer target: run configs as users hand them in. The input is a config file's JSON text, then
// NUL-separated `--set key=value` overrides; whatever is accepted must validate or be refused with a
// ConfigError, and survive the JSON round trip unchanged. Any other exception is a finding.
#include "engine/config/run_config.hpp"
#include "engine/errors.hpp"
#include "fuzz/fuzz_support.hpp"

#include <string>
#include <string_view>

using namespace srigl;
using srigl::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const size_t split = input.find('\0');
    RunConfig config;
    try {
        config = configFromJson(std::string(input.substr(0, split)));
    } catch (const ConfigError& e) {
        require(std::string_view(e.what()).size() < 2048, "message bounded");
    }
    size_t at = split;
    while (at != std::string_view::npos && at < input.size()) {
        const size_t next = input.find('\0', at + 1);
        const std::string assignment(input.substr(at + 1, next == std::string_view::npos ? std::string_view::npos : next - at - 1));
        try {
            applyOverride(config, assignment);
        } catch (const ConfigError& e) {
            require(std::string_view(e.what()).size() < 2048, "message bounded");
        }
        at = next;
    }
    try {
        validateConfig(config);
    } catch (const ConfigError& e) {
        require(std::string_view(e.what()).size() < 2048, "message bounded");
    }
    const std::string once = configToJson(config);
    const std::string twice = configToJson(configFromJson(once));
    require(once == twice, "JSON round trip keeps every value");
    return 0;
}
