// Presets from the engine defaults and the .qrc's example configs.
#include "widgets/launch/presets.hpp"

#include <QDebug>
#include <QDir>
#include <QFile>

#include <algorithm>
#include <exception>

// Q_INIT_RESOURCE must run outside any namespace; a static library's resources are not registered
// until someone asks (the linker may drop the otherwise unreferenced initializer).
static void initStudioResources() {
    Q_INIT_RESOURCE(studio);
}

namespace srigl::studio {

RunConfig defaultSessionConfig() {
    RunConfig config;
    config.name = "SRigL 90% LeNet-300-100 on synthetic digits";
    return config;
}

std::vector<Preset> loadPresets() {
    initStudioResources();
    std::vector<Preset> presets;
    presets.push_back({QStringLiteral("Default: SRigL 90% LeNet-300-100 on synthetic digits"), QString(),
                       defaultSessionConfig()});
    const QDir dir(QStringLiteral(":/configs"));
    QStringList files = dir.entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name);
    std::vector<Preset> shipped;
    for (const auto& file : files) {
        QFile in(dir.filePath(file));
        if (!in.open(QIODevice::ReadOnly)) continue;
        try {
            RunConfig config = configFromJson(in.readAll().toStdString());
            QString name = QString::fromStdString(config.name);
            shipped.push_back({name.isEmpty() ? file : name, in.fileName(), config});
        } catch (const std::exception& e) {
            // A shipped config the engine no longer accepts: skip it, but say so.
            qWarning("preset %s skipped: %s", qPrintable(file), e.what());
        }
    }
    std::stable_sort(shipped.begin(), shipped.end(),
                     [](const Preset& a, const Preset& b) { return a.name < b.name; });
    presets.insert(presets.end(), shipped.begin(), shipped.end());
    return presets;
}

} // namespace srigl::studio
