// The compare dashboard's config table: only the RunConfig keys whose values differ between the
// selected runs (one column per run). Nested JSON objects are flattened to dotted keys.
#pragma once

#include <QAbstractTableModel>
#include <QString>
#include <QStringList>

#include <string>
#include <vector>

namespace srigl::studio {

struct ConfigDiff {
    std::vector<std::string> keys;                 // sorted
    std::vector<std::vector<std::string>> values;  // values[key][run]; "—" where a run lacks the key
};

// configs: each run's config as JSON. Throws std::invalid_argument naming the run index for a
// config that is not a JSON object. Fewer than two configs: no differences.
ConfigDiff diffConfigs(const std::vector<std::string>& configs);

class ConfigDiffModel : public QAbstractTableModel {
    Q_OBJECT
public:
    explicit ConfigDiffModel(QObject* parent = nullptr);

    // runLabels name the columns (e.g. "#12 srigl-90"); false with error() for a bad config.
    bool setRuns(const QStringList& runLabels, const std::vector<std::string>& configs);
    QString error() const { return error_; }
    const ConfigDiff& diff() const { return diff_; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    QStringList labels_;
    ConfigDiff diff_;
    QString error_;
};

} // namespace srigl::studio
