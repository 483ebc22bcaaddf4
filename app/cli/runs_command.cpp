// `srigl runs ...` over the session store. Readers open the store read-only and print whatever
// older versions stored (invalid UTF-8, a config that is not JSON) without failing; writers check
// their text at the door.
#include "runs_command.hpp"

#include "cli_checks.hpp"
#include "printable_text.hpp"

#include "engine/config/text_check.hpp"
#include "engine/training/training_observer.hpp"
#include "progress_bar.hpp"
#include "sessions/store/database_copy.hpp"
#include "sessions/store/run_merge.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/sweep_store.hpp"
#include "sessions/store/writer_stamp.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <ctime>
#include <iostream>
#include <map>
#include <sstream>
#include <vector>

namespace srigl::cli {
namespace {

using sessions::RunInfo;
using sessions::RunStatus;
using sessions::RunStore;

// Tags and notes are typed by people; anything longer is a mistake (a file pasted by accident).
constexpr size_t kMaxTextBytes = 64 * 1024;

// `text` with every byte that is not part of a well-formed UTF-8 sequence replaced by U+FFFD, so
// that rows older versions stored without checking can be parsed and printed (the JSON writer's
// own replacement, so a table and --json show the same text).
std::string validUtf8(const std::string& text) {
    if (isValidUtf8(text)) return text;
    const auto quoted = nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return nlohmann::json::parse(quoted).get<std::string>();
}

// Stored text for a table cell or message: U+FFFD for bytes that are not UTF-8 (as --json shows
// them), and control characters as visible escapes, so a name stored as "\x1b[2J" by an older
// version or another tool is shown, not obeyed by the terminal.
std::string cellText(const std::string& text) { return printableText(validUtf8(text)); }

// JSON text of store data: strings that are not UTF-8 get U+FFFD instead of throwing, so one bad
// row never hides the whole database; DEL and C1 controls, which the writer leaves raw, as \u
// escapes (the same JSON, but nothing a terminal obeys: `runs show` prints JSON to one).
std::string dumpJson(const nlohmann::json& j, int indent = -1) {
    return printableJson(j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace));
}

// A JSON value for a table: a string as its text, anything else as JSON; printable either way.
std::string jsonValueText(const nlohmann::json& v) {
    return v.is_string() ? cellText(v.get<std::string>()) : printableText(dumpJson(v));
}

// A stored JSON document (config, sweep grid); one that does not parse is kept as its text rather
// than dropped, so nothing stored is hidden from the user.
nlohmann::json storedJson(const std::string& text) {
    auto parsed = nlohmann::json::parse(validUtf8(text), nullptr, false);
    return parsed.is_discarded() ? nlohmann::json(validUtf8(text)) : parsed;
}

// Refuses a tag or note the store should not keep, naming the field (exit 2, nothing written).
void checkUserText(const std::string& field, const std::string& text) {
    if (!isValidUtf8(text))
        throw sessions::StoreError("the " + field + " is not valid UTF-8: '" + quoteForMessage(text) + "'");
    if (text.size() > kMaxTextBytes)
        throw sessions::StoreError("the " + field + " is " + std::to_string(text.size()) + " bytes long, more than " +
                                   std::to_string(kMaxTextBytes) + ": '" + quoteForMessage(text) + "'");
}

std::string timeText(int64_t ms) {
    if (ms <= 0) return "-";
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", std::localtime(&t));
    return buf;
}

nlohmann::json runJson(const RunInfo& r) {
    return {{"id", r.id},
            {"name", r.name},
            {"status", sessions::toString(r.status)},
            {"created_at", r.createdAt},
            {"finished_at", r.finishedAt},
            {"tags", r.tags},
            {"notes", r.notes},
            {"method", r.method},
            {"model", r.model},
            {"dataset", r.dataset},
            {"sparsity", r.sparsity},
            {"steps", r.steps},
            {"test_accuracy", r.testAccuracy},
            {"device", r.device},
            {"blas", r.blas},
            {"threads", r.threads},
            {"host", r.host},
            {"pid", r.pid},
            {"heard_at", r.heardAt}, // unix ms of the writer's last write (0: never stamped)
            {"origin", r.origin},    // a merged run: the database it came from, and its id there
            {"origin_id", r.originId},
            {"engine_version", r.engineVersion},
            {"error", r.error}, // why a failed run failed
            {"config", storedJson(r.config)}};
}

sessions::RunFilter parseFilter(const RunsOptions& o) {
    sessions::RunFilter f;
    f.tag = o.tag;
    std::stringstream ss(o.filter);
    std::string term;
    while (std::getline(ss, term, ',')) {
        const auto eq = term.find('=');
        if (eq == std::string::npos) {
            f.text = term;
            continue;
        }
        const std::string key = term.substr(0, eq), value = term.substr(eq + 1);
        if (key == "status") f.status = value;
        else if (key == "method") f.method = value;
        else if (key == "tag") f.tag = value;
        else if (key == "text") f.text = value;
        else throw sessions::StoreError("--filter: unknown key '" + key + "' (use status, method, tag or text)");
    }
    return f;
}

// A running run or sweep of another machine cannot be checked from here: says when its process
// was last heard from (stderr, below the table), and how to release it once that is long ago.
void noteOtherMachine(const char* what, int64_t id, const char* flag, RunStatus status, const std::string& host,
                      int64_t pid, int64_t heardAt) {
    if (status != RunStatus::Running || host == sessions::hostName()) return;
    const int64_t now = sessions::nowMs();
    std::fprintf(stderr, "%s %lld runs as process %lld on %s, last heard from %s", what, static_cast<long long>(id),
                 static_cast<long long>(pid), cellText(host).c_str(), sessions::heardAgoText(heardAt, now).c_str());
    if (heardAt <= 0 || now - heardAt >= sessions::kQuietBeforeReleaseMs)
        std::fprintf(stderr, "; if that job is gone: srigl runs release %s%lld", flag, static_cast<long long>(id));
    std::fprintf(stderr, "\n");
}

int list(RunStore& store, const RunsOptions& o) {
    const auto start = std::chrono::steady_clock::now();
    auto filter = parseFilter(o);
    if (o.sweep > 0) {
        sessions::SweepStore(store).sweep(o.sweep); // an unknown sweep id is an error, not an empty list
        filter.sweep = o.sweep;
    }
    auto runs = store.listRuns(filter);
    if (o.timing)
        std::fprintf(stderr, "listed %zu runs in %.2f ms\n", runs.size(),
                     std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    if (o.json) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& r : runs) {
            auto j = runJson(r);
            j.erase("config");
            arr.push_back(j);
        }
        std::cout << dumpJson(arr) << std::endl;
        return 0;
    }
    std::printf("%5s  %-11s %-16s %-7s %-9s %8s %7s %9s  %s\n", "id", "status", "created", "method", "model", "sparsity",
                "steps", "test acc", "name / tags");
    for (const auto& r : runs) {
        std::string tags;
        for (const auto& t : r.tags) tags += " #" + cellText(t);
        // A merged run is listed with where it came from: it continues there.
        if (!r.origin.empty())
            tags += " (merged from " + cellText(std::filesystem::path(r.origin).filename().string()) + " run " +
                    std::to_string(r.originId) + ")";
        char acc[16] = "-";
        if (r.testAccuracy >= 0) std::snprintf(acc, sizeof acc, "%.2f%%", 100.0 * r.testAccuracy);
        std::printf("%5lld  %-11s %-16s %-7s %-9s %7.1f%% %7lld %9s  %s%s\n", static_cast<long long>(r.id),
                    sessions::toString(r.status).c_str(), timeText(r.createdAt).c_str(), cellText(r.method).c_str(),
                    cellText(r.model).c_str(), 100.0 * r.sparsity, static_cast<long long>(r.steps), acc,
                    cellText(r.name).c_str(), tags.c_str());
    }
    for (const auto& r : runs) noteOtherMachine("run", r.id, "", r.status, r.host, r.pid, r.heardAt);
    return 0;
}

int sweeps(RunStore& store, const RunsOptions& o) {
    sessions::SweepStore sweeps(store);
    const auto all = sweeps.listSweeps();
    if (o.json) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& s : all)
            arr.push_back({{"id", s.id}, {"name", s.name}, {"status", sessions::toString(s.status)},
                           {"created_at", s.createdAt}, {"finished_at", s.finishedAt}, {"points", s.points},
                           {"done", s.done}, {"host", s.host}, {"pid", s.pid}, {"heard_at", s.heardAt},
                           {"grid", storedJson(s.grid)}});
        std::cout << dumpJson(arr) << std::endl;
        return 0;
    }
    std::printf("%5s  %-11s %-16s %9s  %s\n", "id", "status", "created", "points", "name / grid");
    for (const auto& s : all) {
        // The grid as key=v1,v2 per axis; a grid not of that shape (an older or damaged row) as stored.
        std::string grid;
        const auto axes = storedJson(s.grid);
        if (axes.is_array()) {
            for (const auto& a : axes) {
                if (!a.is_object() || !a.contains("key") || !a.contains("values") || !a["values"].is_array()) {
                    grid += " " + printableText(dumpJson(a));
                    continue;
                }
                std::string values;
                for (const auto& v : a["values"]) values += (values.empty() ? "" : ",") + jsonValueText(v);
                grid += " " + jsonValueText(a["key"]) + "=" + values;
            }
        } else {
            grid = " " + jsonValueText(axes);
        }
        const std::string points = std::to_string(s.done) + "/" + std::to_string(s.points);
        std::printf("%5lld  %-11s %-16s %9s  %s%s\n", static_cast<long long>(s.id), sessions::toString(s.status).c_str(),
                    timeText(s.createdAt).c_str(), points.c_str(), cellText(s.name).c_str(), grid.c_str());
    }
    for (const auto& s : all) noteOtherMachine("sweep", s.id, "--sweep ", s.status, s.host, s.pid, s.heardAt);
    return 0;
}

int show(RunStore& store, const RunsOptions& o) {
    const int64_t id = o.ids.at(0);
    auto j = runJson(store.run(id));
    // What the run was trained with before a resume changed keys with --set (oldest first).
    nlohmann::json history = nlohmann::json::array();
    for (const auto& change : store.configHistory(id))
        history.push_back({{"step", change.step}, {"created_at", change.createdAt}, {"config", storedJson(change.config)}});
    j["config_history"] = history;
    std::cout << dumpJson(j, 2) << std::endl;
    return 0;
}

int exportRun(RunStore& store, const RunsOptions& o) {
    const int64_t id = o.ids.at(0);
    const auto metrics = store.metrics(id);
    const auto masks = store.maskStats(id); // every layer's statistics, also those too large to snapshot
    const auto weights = store.weightStats(id);
    if (o.format == "json") {
        nlohmann::json m = nlohmann::json::array(), l = nlohmann::json::array(), w = nlohmann::json::array();
        for (const auto& x : metrics) m.push_back({{"step", x.step}, {"key", x.key}, {"value", x.value}});
        for (const auto& x : masks)
            l.push_back({{"step", x.step}, {"layer", x.stats.name}, {"k", x.stats.k}, {"active", x.stats.active},
                         {"ablated", x.stats.ablated}, {"pruned", x.stats.pruned}, {"regrown", x.stats.regrown},
                         {"sad", x.stats.sad}, {"sparsity", x.stats.sparsity}});
        for (const auto& x : weights)
            w.push_back({{"step", x.step}, {"layer", x.stats.name}, {"count", x.stats.count}, {"mean", x.stats.mean},
                         {"std", x.stats.std}, {"min", x.stats.min}, {"max", x.stats.max},
                         {"histogram", x.stats.histogram}});
        std::cout << dumpJson({{"run", runJson(store.run(id))}, {"metrics", m}, {"layers", l}, {"weights", w}})
                  << std::endl;
        return 0;
    }
    if (o.format != "csv") throw sessions::StoreError("--format: expected csv or json, got '" + o.format + "'");
    // One table: metrics rows, per-update layer rows, then weight statistics rows, distinguished by
    // the `kind` column. The histogram's kWeightHistogramBins counts over [min, max] are one field,
    // separated by ';'.
    std::printf("kind,step,key,value,layer,k,active,ablated,pruned,regrown,sad,sparsity,count,mean,std,min,max,histogram\n");
    for (const auto& x : metrics)
        std::printf("metric,%lld,%s,%.9g,,,,,,,,,,,,,,\n", static_cast<long long>(x.step), cellText(x.key).c_str(),
                    x.value);
    for (const auto& x : masks)
        std::printf("layer,%lld,,,%s,%lld,%lld,%lld,%lld,%lld,%lld,%.6f,,,,,,\n", static_cast<long long>(x.step),
                    cellText(x.stats.name).c_str(), static_cast<long long>(x.stats.k),
                    static_cast<long long>(x.stats.active), static_cast<long long>(x.stats.ablated),
                    static_cast<long long>(x.stats.pruned), static_cast<long long>(x.stats.regrown),
                    static_cast<long long>(x.stats.sad), x.stats.sparsity);
    for (const auto& x : weights) {
        std::string histogram;
        for (size_t i = 0; i < x.stats.histogram.size(); ++i)
            histogram += (i ? ";" : "") + std::to_string(x.stats.histogram[i]);
        std::printf("weights,%lld,,,%s,,,,,,,,%lld,%.9g,%.9g,%.9g,%.9g,%s\n", static_cast<long long>(x.step),
                    cellText(x.stats.name).c_str(), static_cast<long long>(x.stats.count), x.stats.mean, x.stats.std,
                    x.stats.min, x.stats.max, histogram.c_str());
    }
    return 0;
}

// Key by key over the stored config JSON (the full RunConfig of each run), so the command needs
// nothing of the engine.
std::string configText(const nlohmann::json& config, const std::string& key) {
    return config.contains(key) ? jsonValueText(config[key]) : "-";
}

int diff(RunStore& store, const RunsOptions& o) {
    const RunInfo a = store.run(o.ids.at(0)), b = store.run(o.ids.at(1));
    const auto ca = storedJson(a.config), cb = storedJson(b.config);
    if (!ca.is_object() || !cb.is_object())
        throw sessions::StoreError("the stored config of run " + std::to_string(ca.is_object() ? b.id : a.id) +
                                   " is not a JSON object");
    std::map<std::string, int> keys;
    for (const auto& [k, v] : ca.items()) keys[k];
    for (const auto& [k, v] : cb.items()) keys[k];
    int differences = 0;
    for (const auto& [key, unused] : keys) {
        // Every recorded run has a checkpoint file of its own: a difference that says nothing.
        if (key == "checkpoint") continue;
        const std::string va = configText(ca, key), vb = configText(cb, key);
        if (va == vb) continue;
        std::printf("%-18s %-24s %s\n", cellText(key).c_str(), va.c_str(), vb.c_str());
        ++differences;
    }
    if (differences == 0) std::printf("configs of runs %lld and %lld are identical\n", static_cast<long long>(a.id),
                                      static_cast<long long>(b.id));
    return 0;
}

int remove(RunStore& store, const RunsOptions& o) {
    const RunInfo r = store.run(o.ids.at(0));
    if (!o.yes) {
        if (!isatty(STDIN_FILENO)) {
            std::fprintf(stderr, "srigl runs delete: refusing to delete run %lld without --yes (no terminal to ask)\n",
                         static_cast<long long>(r.id));
            return 2;
        }
        std::fprintf(stderr, "Delete run %lld (%s, %s) and everything recorded for it? [y/N] ",
                     static_cast<long long>(r.id), cellText(r.method).c_str(), sessions::toString(r.status).c_str());
        std::string answer;
        std::getline(std::cin, answer);
        if (answer != "y" && answer != "Y" && answer != "yes") {
            std::fprintf(stderr, "kept\n");
            return 0;
        }
    }
    // The store refuses a live run (its writer would go on recording into a deleted run) and says
    // which checkpoint files went with it.
    const std::vector<std::string> removed = store.deleteRun(r.id);
    std::fprintf(stderr, "deleted run %lld\n", static_cast<long long>(r.id));
    for (const auto& file : removed) std::fprintf(stderr, "removed checkpoint %s\n", cellText(file).c_str());
    return 0;
}

// A run or sweep of another machine whose process is gone (a killed job, a failed node) stays
// "running" here for ever: this machine cannot check that process. The user says it is gone.
int release(RunStore& store, const RunsOptions& o) {
    if (o.ids.empty() == (o.sweep <= 0)) throw sessions::StoreError("runs release: give a run id or --sweep ID, one of them");
    if (o.sweep > 0) {
        const sessions::SweepInfo was = sessions::SweepStore(store).releaseSweep(o.sweep, o.force);
        std::fprintf(stderr,
                     "released sweep %lld (process %lld on %s): it is interrupted now; continue it with srigl sweep "
                     "--resume %lld. Were that process alive after all, it stops before its next point.\n",
                     static_cast<long long>(o.sweep), static_cast<long long>(was.pid), cellText(was.host).c_str(),
                     static_cast<long long>(o.sweep));
        return 0;
    }
    const int64_t id = o.ids.at(0);
    const RunInfo was = store.releaseRun(id, o.force);
    std::fprintf(stderr,
                 "released run %lld (process %lld on %s): it is interrupted now; continue it with srigl train --resume "
                 "%lld, or delete it. Were that process alive after all, it stops recording and checkpointing at its "
                 "next write.\n",
                 static_cast<long long>(id), static_cast<long long>(was.pid), cellText(was.host).c_str(),
                 static_cast<long long>(id));
    return 0;
}

// `cp runs.db` while a run trains misses the commits still in runs.db-wal: this copies one consistent
// snapshot, never over an existing file.
int backup(const std::string& source, const RunsOptions& o) {
    std::unique_ptr<ProgressBar> bar;
    const auto copy = sessions::copyDatabase(source, o.out, [&](int64_t written, int64_t expected) {
        if (!bar) bar = std::make_unique<ProgressBar>(std::max<int64_t>(expected, 1));
        bar->update(std::min(written, expected), std::to_string(written >> 20) + " MiB");
        return true;
    });
    if (bar) bar->finish();
    const auto checkpoints = std::filesystem::absolute(source).lexically_normal().parent_path() / "checkpoints";
    std::fprintf(stderr,
                 "copied %lld run%s (%.1f MiB) to %s: a consistent snapshot of %s as of the start of the copy. "
                 "Checkpoint files are not in it: its runs name the same files as the original's (in %s), so "
                 "continue a run from one of the two databases, not both.\n",
                 static_cast<long long>(copy.runs), copy.runs == 1 ? "" : "s", static_cast<double>(copy.bytes) / (1 << 20),
                 cellText(o.out).c_str(), cellText(source).c_str(), cellText(checkpoints.string()).c_str());
    return 0;
}

// A cluster's jobs each recorded into their own database: their runs side by side in this one.
int merge(RunStore& store, const RunsOptions& o) {
    std::unique_ptr<ProgressBar> bar;
    const auto result = sessions::mergeRuns(store, o.source, o.ids, [&](int64_t done, int64_t total) {
        if (!bar) bar = std::make_unique<ProgressBar>(std::max<int64_t>(total, 1));
        bar->update(done, "runs");
        return true;
    });
    if (bar) bar->finish();
    const std::string from = cellText(o.source);
    for (const auto& m : result.merged)
        std::fprintf(stderr, "merged run %lld of %s as run %lld%s%s\n", static_cast<long long>(m.sourceId), from.c_str(),
                     static_cast<long long>(m.id), m.name.empty() ? "" : ": ", cellText(m.name).c_str());
    for (const auto& s : result.skipped)
        std::fprintf(stderr, "skipped run %lld of %s: %s\n", static_cast<long long>(s.sourceId), from.c_str(),
                     cellText(s.reason).c_str());
    std::fprintf(stderr,
                 "%zu merged, %zu skipped. Merged runs keep their checkpoint files where they are (their origin's): "
                 "they are viewed and compared here, and continued in %s.\n",
                 result.merged.size(), result.skipped.size(), from.c_str());
    return 0;
}

} // namespace

void addRunsCommand(CLI::App& app, RunsOptions& o) {
    auto* runs = app.add_subcommand("runs", "Recorded runs: list, show, tag, note, delete, release, backup, merge, export, diff");
    runs->require_subcommand(1);
    const std::string dbHelp = "database (default $SRIGL_DB or ~/.local/share/srigl-studio/runs.db)";
    runs->add_option("--db", o.db, dbHelp);
    auto* list = runs->add_subcommand("list", "List runs");
    list->add_flag("--json", o.json, "JSON array");
    list->add_option("--filter", o.filter, "status=S,method=M,tag=T,text=T or free text");
    list->add_option("--tag", o.tag, "only runs with this tag");
    list->add_flag("--timing", o.timing, "print how long the database query took (stderr)");
    // Ids and steps are never negative: -5 was taken as "not given" and listed every run (rendered
    // the last snapshot) instead of saying there is no such sweep (step).
    list->add_option("--sweep", o.sweep, "only the runs of this sweep (srigl runs sweeps lists them)")
        ->check(idNumber());
    auto* sweeps = runs->add_subcommand("sweeps", "List sweeps (srigl sweep) with their progress");
    sweeps->add_flag("--json", o.json, "JSON array");
    auto* show = runs->add_subcommand("show", "Everything stored about a run");
    show->add_option("id", o.ids, "run id")->required()->expected(1);
    show->add_flag("--json", o.json, "JSON (the default output is JSON too)");
    auto* tag = runs->add_subcommand("tag", "Add a tag to a run");
    tag->add_option("id", o.ids, "run id")->required()->expected(1)->allow_extra_args(false);
    tag->add_option("tag", o.text, "tag")->required();
    auto* note = runs->add_subcommand("note", "Set a run's notes");
    note->add_option("id", o.ids, "run id")->required()->expected(1)->allow_extra_args(false);
    note->add_option("text", o.text, "notes")->required();
    auto* del = runs->add_subcommand("delete", "Delete a run and its checkpoint files (asks unless --yes)");
    del->add_option("id", o.ids, "run id")->required()->expected(1);
    del->add_flag("-y,--yes", o.yes, "do not ask");
    auto* rel = runs->add_subcommand("release", "Mark a run (or --sweep) of another machine interrupted when its "
                                                "process is gone (a killed job, a failed node), so it can be resumed");
    rel->add_option("id", o.ids, "run id")->expected(0, 1)->check(idNumber());
    rel->add_option("--sweep", o.sweep, "a sweep id instead of a run id")->check(idNumber());
    rel->add_flag("--force", o.force, "release even a run heard from in the last 2 minutes (its process looks alive)");
    auto* bak = runs->add_subcommand("backup", "A consistent copy of the database, taken while runs train (cp of "
                                               "runs.db misses what is still in runs.db-wal); never replaces a file");
    bak->add_option("out", o.out, "the copy: a new file")->required();
    auto* mrg = runs->add_subcommand("merge", "Copy runs of another database into this one (a cluster job's own "
                                              "database, say); runs already here or still running are skipped");
    mrg->add_option("source", o.source, "the database the runs come from (only read)")->required();
    mrg->add_option("ids", o.ids, "run ids there (default: every run)")->check(idNumber());
    auto* exp = runs->add_subcommand("export", "Metrics, per-update layer statistics and weight statistics");
    exp->add_option("id", o.ids, "run id")->required()->expected(1);
    exp->add_option("--format", o.format, "csv or json");
    auto* ren = runs->add_subcommand("render", "Picture (.png) or video (.mp4/.avi) of a layer's mask or weights");
    ren->add_option("id", o.ids, "run id")->required()->expected(1);
    ren->add_option("--layer", o.layer, "layer name (e.g. fc1)")->required();
    ren->add_option("--step", o.step, "snapshot at or before this step (default: the last)")
        ->check(nonNegativeWholeNumber());
    ren->add_option("--out", o.out, "output file: .png for one snapshot, .mp4 or .avi for all")->required();
    ren->add_option("--what", o.what, "mask (active, ablated, pruned/regrown) or weights (heatmap)");
    ren->add_option("--colormap", o.colormap, "OpenCV colour map of the weight heatmap (default twilight_shifted; "
                                              "also jet, viridis, turbo, ...)");
    auto* dif = runs->add_subcommand("diff", "Config keys that differ between two runs");
    dif->add_option("ids", o.ids, "two run ids")->required()->expected(2);
    // `srigl runs list --db X` as well as `srigl runs --db X list`, as git and docker users expect:
    // every subcommand takes --db too, into the same variable (and shows it in its --help).
    for (auto* sub : runs->get_subcommands([](CLI::App*) { return true; })) sub->add_option("--db", o.db, dbHelp);
}

int runRuns(const CLI::App& app, const RunsOptions& o, RenderRunFn render) {
    const auto* runs = app.get_subcommand("runs");
    const std::string db = o.db.empty() ? sessions::defaultDatabasePath() : o.db;
    try {
        // Text goes into the store only when every reader can print it.
        if (runs->got_subcommand("tag")) checkUserText("tag", o.text);
        if (runs->got_subcommand("note")) checkUserText("note", o.text);
        // Never create a database at a mistyped path: only `srigl train` creates one, and a merge,
        // whose runs are a new database's whole content (the runs of several jobs' databases).
        const bool creates = runs->got_subcommand("merge");
        if (!creates && !std::filesystem::exists(db)) throw sessions::StoreError(db + ": no such database");
        // Reading never writes, so it works on a read-only medium and never disturbs a live writer;
        // the store reports a run whose writer is gone as interrupted without marking it so.
        const bool reads = !runs->got_subcommand("delete") && !runs->got_subcommand("tag") &&
                           !runs->got_subcommand("note") && !runs->got_subcommand("release") &&
                           !runs->got_subcommand("merge");
        if (reads) {
            // A database of an older schema is brought up to date once, the one write a reader
            // may do (it fails cleanly on a read-only medium); from then on reading never writes.
            try {
                RunStore probe(db, RunStore::Mode::ReadOnly);
            } catch (const sessions::StoreNeedsMigration&) {
                RunStore migrate(db, RunStore::Mode::ReadWriteExisting);
            }
        }
        if (runs->got_subcommand("backup")) return backup(db, o);
        RunStore store(db, reads ? RunStore::Mode::ReadOnly : RunStore::Mode::ReadWrite);
        if (runs->got_subcommand("list")) return list(store, o);
        if (runs->got_subcommand("show")) return show(store, o);
        if (runs->got_subcommand("sweeps")) return sweeps(store, o);
        if (runs->got_subcommand("export")) return exportRun(store, o);
        if (runs->got_subcommand("diff")) return diff(store, o);
        if (runs->got_subcommand("render")) {
            if (!render) throw sessions::StoreError("runs render is not available in this executable");
            return render(store, o);
        }
        if (runs->got_subcommand("delete")) return remove(store, o);
        if (runs->got_subcommand("release")) return release(store, o);
        if (runs->got_subcommand("merge")) return merge(store, o);
        if (runs->got_subcommand("tag")) {
            store.addTag(o.ids.at(0), o.text);
            return 0;
        }
        if (runs->got_subcommand("note")) {
            store.setNotes(o.ids.at(0), o.text);
            return 0;
        }
    } catch (const std::exception& e) {
        // Store errors can quote stored text (a layer name, a path).
        std::fprintf(stderr, "srigl runs: %s\n", printableLines(e.what()).c_str());
        return 2;
    }
    return 2;
}

int exitOnParseError(CLI::App& app, const CLI::ParseError& e) {
    // The deepest command the line named, and the words of the line it could not place.
    CLI::App* current = &app;
    std::string path = "srigl";
    for (bool deeper = true; deeper;) {
        deeper = false;
        for (auto* sub : current->get_subcommands([](CLI::App* s) { return s->parsed(); })) {
            current = sub;
            path += " " + sub->get_name();
            deeper = true;
            break;
        }
    }
    const auto commands = current->get_subcommands([](CLI::App* s) { return !s->get_name().empty(); });
    if (e.get_exit_code() == 0 || commands.empty() || current->get_require_subcommand_min() == 0)
        return app.exit(e) == 0 ? 0 : 2;
    std::string word;
    for (const auto& w : current->remaining())
        if (!w.empty() && w[0] != '-') {
            word = w;
            break;
        }
    if (word.empty()) {
        // No command at all (`srigl`, `srigl runs`): what there is to choose from.
        if (dynamic_cast<const CLI::RequiredError*>(&e)) {
            std::fprintf(stderr, "%s", current->help().c_str());
            return 2;
        }
        return app.exit(e) == 0 ? 0 : 2;
    }
    std::fprintf(stderr, "%s: unknown command '%s'\nThe commands are:\n", path.c_str(), quoteForMessage(word).c_str());
    for (const auto* c : commands)
        std::fprintf(stderr, "  %-10s %s\n", c->get_name().c_str(), c->get_description().c_str());
    return 2;
}

} // namespace srigl::cli
