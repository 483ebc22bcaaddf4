// Launcher: presets and files feed the form; Start hands a validated config to the main window.
#include "widgets/launch/launcher_panel.hpp"

#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollArea>
#include <QVBoxLayout>

namespace srigl::studio {

LauncherPanel::LauncherPanel(QWidget* parent) : QWidget(parent), presetList_(loadPresets()) {
    presets_ = new QComboBox(this);
    presets_->setObjectName(QStringLiteral("presets"));
    for (const auto& p : presetList_) presets_->addItem(p.name);
    presets_->setToolTip(tr("Ready-made configs; the first trains on built-in synthetic digits (no download)"));
    auto* load = new QPushButton(tr("Open…"), this);
    load->setToolTip(tr("Load a run config (JSON, as `srigl train --config` takes it)"));
    auto* save = new QPushButton(tr("Save…"), this);
    save->setToolTip(tr("Save the form as a run config (JSON)"));

    form_ = new ConfigForm(this);
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(form_);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);

    start_ = new QPushButton(tr("Start run  (F5)"), this);
    start_->setObjectName(QStringLiteral("startRun"));
    QFont bold = start_->font();
    bold.setBold(true);
    start_->setFont(bold);

    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Preset"), this));
    top->addWidget(presets_, 1);
    top->addWidget(load);
    top->addWidget(save);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(scroll, 1);
    layout->addWidget(start_);

    connect(presets_, &QComboBox::activated, this, &LauncherPanel::choosePreset);
    connect(load, &QPushButton::clicked, this, &LauncherPanel::loadJson);
    connect(save, &QPushButton::clicked, this, &LauncherPanel::saveJson);
    connect(form_, &ConfigForm::validated, start_, [this](bool ok) { start_->setEnabled(ok); });
    connect(start_, &QPushButton::clicked, this, [this] {
        if (auto config = configToStart()) Q_EMIT startRequested(*config);
    });
    choosePreset(0);
}

void LauncherPanel::choosePreset(int index) {
    if (index < 0 || index >= static_cast<int>(presetList_.size())) return;
    presets_->setCurrentIndex(index);
    form_->setConfig(presetList_[static_cast<size_t>(index)].config);
}

std::optional<RunConfig> LauncherPanel::configToStart() {
    form_->validateNow();
    if (!form_->isValid()) return std::nullopt;
    return form_->config();
}

void LauncherPanel::loadJson() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open run config"), QString(), tr("JSON (*.json)"));
    if (path.isEmpty()) return;
    try {
        form_->setConfig(loadConfigFile(path.toStdString()));
    } catch (const std::exception& e) {
        QMessageBox::warning(this, tr("Open run config"), QString::fromUtf8(e.what()));
    }
}

void LauncherPanel::saveJson() {
    const QString path = QFileDialog::getSaveFileName(this, tr("Save run config"), QString(), tr("JSON (*.json)"));
    if (path.isEmpty()) return;
    QFile out(path);
    if (!out.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
        out.write(QByteArray::fromStdString(configToJson(form_->config()) + "\n")) < 0)
        QMessageBox::warning(this, tr("Save run config"), tr("Cannot write %1: %2").arg(path, out.errorString()));
}

} // namespace srigl::studio
