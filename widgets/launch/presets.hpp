// Ready-made run configs for the launcher: the engine's default (synthetic digits, no download)
// first, then every example config shipped in the Studio's resources (:/configs/*.json).
#pragma once

#include "engine/config/run_config.hpp"

#include <QString>
#include <vector>

namespace srigl::studio {

struct Preset {
    QString name;
    QString source; // resource path, or "" for the built-in default
    RunConfig config;
};

// The first entry is always the default session (what --demo and a first launch run).
std::vector<Preset> loadPresets();
RunConfig defaultSessionConfig();

} // namespace srigl::studio
