// The launcher dock: presets, the config form, JSON load/save and the Start button.
#pragma once

#include "widgets/launch/config_form.hpp"
#include "widgets/launch/presets.hpp"

#include <QWidget>

#include <optional>
#include <vector>

class QComboBox;
class QPushButton;

namespace srigl::studio {

class LauncherPanel : public QWidget {
    Q_OBJECT
public:
    explicit LauncherPanel(QWidget* parent = nullptr);

    ConfigForm* form() const { return form_; }
    QComboBox* presetBox() const { return presets_; }
    const std::vector<Preset>& presets() const { return presetList_; }
    void choosePreset(int index);
    // The config to start, validated now; nullopt (and the message shown) when it is invalid.
    std::optional<RunConfig> configToStart();

Q_SIGNALS:
    void startRequested(const srigl::RunConfig& config);

private:
    void loadJson();
    void saveJson();

    std::vector<Preset> presetList_;
    QComboBox* presets_ = nullptr;
    ConfigForm* form_ = nullptr;
    QPushButton* start_ = nullptr;
};

} // namespace srigl::studio
