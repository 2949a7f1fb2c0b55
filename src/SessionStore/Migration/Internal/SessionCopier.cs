using System.Diagnostics;
using SessionStore.Internal;

namespace SessionStore.Migration.Internal;

/// <summary>
/// Copies sessions from one store to the other in batches, for the backfill (Redis to PostgreSQL, missing sessions
/// only) and for sync (the current primary to the secondary, missing or older sessions): one listing page, one read
/// of the source, conditional writes to the target, one check back in the source. Resumable from a checkpoint,
/// rate-limited, and never resurrecting a session the source lost while it was copied.
/// </summary>
internal sealed class SessionCopier(ICopySource source, ICopyTarget target, BackfillOptions options, bool replaceOlder, TimeSpan expiryTolerance)
{
    private ICopySource Source => source;

    private ICopyTarget Target => target;

    private BackfillOptions Options => options;

    /// <summary>Sync: also replace a secondary copy that differs. Backfill: only fill what is missing.</summary>
    private bool ReplaceOlder => replaceOlder;

    private TimeSpan ExpiryTolerance => expiryTolerance;

    /// <summary>The command its checkpoint names: the copier that replaces older copies is sync's, the other the backfill's.</summary>
    private string Kind => replaceOlder ? CopyCheckpoint.SyncKind : CopyCheckpoint.BackfillKind;

    public async Task<BackfillProgress> RunAsync(IProgress<BackfillProgress>? progress, CancellationToken cancellationToken)
    {
        options.ThrowIfInvalid();
        // Before any store is touched: a checkpoint of another copy is refused before the target's table is created.
        var resumed = options.CheckpointPath is { } path && !options.Restart
            ? await CopyCheckpoint.LoadAsync(path, Kind, source, target, cancellationToken).ConfigureAwait(false)
            : null;

        // Nothing is written before the first batch: Ctrl+C stops at once here, even while a server is hung.
        await StoreDeadline.UntilCancelledAsync(
            async t =>
            {
                await source.EnsureReadyAsync(t).ConfigureAwait(false);
                await target.EnsureReadyAsync(t).ConfigureAwait(false);
                return true;
            },
            cancellationToken).ConfigureAwait(false);
        var run = new Run(this, resumed, progress)
        {
            EstimatedTotal = await StoreDeadline.UntilCancelledAsync(source.EstimateAsync, cancellationToken).ConfigureAwait(false),
        };
        return await run.ExecuteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The condition under which the primary's entry may replace what the secondary holds. With version stamps this
    /// becomes <c>WriteCondition.WhenOlder(primary.Version)</c>; until then "unchanged since read" keeps any write the
    /// application made after the secondary was read.
    /// </summary>
    private static WriteCondition ConditionFor(StoredEntry? secondary) =>
        secondary is null ? WriteCondition.WhenAbsent : WriteCondition.WhenUnchanged(secondary.Value);

    private sealed class Run(SessionCopier owner, CopyCheckpoint? resumed, IProgress<BackfillProgress>? progress)
    {
        private static readonly TimeSpan SettleWait = TimeSpan.FromSeconds(10);
        private static readonly TimeSpan SettlePoll = TimeSpan.FromMilliseconds(250);

        private readonly CopyCheckpoint _state = resumed ?? new CopyCheckpoint { Format = CopyCheckpoint.CurrentFormat, Kind = owner.Kind, Source = owner.Source.Description, Target = owner.Target.Description };
        private readonly BackfillProgress _totals = resumed?.Totals ?? new BackfillProgress();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly BackfillOptions _options = owner.Options;
        private long _processedThisRun;

        public long EstimatedTotal { get; init; }

        private int Chunk => _options.RatePerSecond is { } rate ? (int)Math.Clamp(rate, 1, _options.BatchSize) : _options.BatchSize;

        public async Task<BackfillProgress> ExecuteAsync(CancellationToken cancellationToken)
        {
            // A run that resumes in the middle of a pass judges it against the topology that pass started on, so a
            // reshard while the run was stopped is noticed too.
            var resumedMidPass = resumed?.Position is not null;
            bool completed;
            while (true)
            {
                if (!resumedMidPass)
                {
                    _state.PassTopology = (await owner.Source.TopologyAsync(cancellationToken).ConfigureAwait(false)).Fingerprint;
                }

                resumedMidPass = false;
                await ListAndCopyAsync(cancellationToken).ConfigureAwait(false);

                var end = await owner.Source.TopologyAsync(cancellationToken).ConfigureAwait(false);
                if (end.UnchangedSince(_state.PassTopology))
                {
                    completed = true;
                    break;
                }

                // Keys may have moved to a node already listed: only a whole pass on a topology that holds still is complete.
                _state.TopologyChanged = true;
                if (_state.Pass >= _options.MaxPasses)
                {
                    completed = false;
                    break;
                }

                _state.Pass++;
                _state.Position = null;
                _state.PassTopology = null;
                await SaveAsync().ConfigureAwait(false);
                await WaitUntilSettledAsync(cancellationToken).ConfigureAwait(false);
            }

            // An incomplete run leaves no checkpoint either: the next run has to list everything again anyway.
            if (_options.CheckpointPath is { } path)
            {
                File.Delete(path);
            }

            var result = Snapshot(completed);
            progress?.Report(result);
            return result;
        }

        private async Task ListAndCopyAsync(CancellationToken cancellationToken)
        {
            try
            {
                await ListAndCopyPagesAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // An interrupted or failed run's summary counts the batches of the page in progress too; the checkpoint
                // does not (resuming repeats that page, whose sessions then count as already present).
                progress?.Report(Snapshot(completed: false));
                throw;
            }
        }

        private async Task ListAndCopyPagesAsync(CancellationToken cancellationToken)
        {
            await foreach (var page in owner.Source.PagesAsync(_state.Position, _options.BatchSize, cancellationToken).ConfigureAwait(false))
            {
                foreach (var chunk in page.Keys.Chunk(Chunk))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    await CopyAsync(chunk).ConfigureAwait(false);
                    await ThrottleAsync(chunk.Length, cancellationToken).ConfigureAwait(false);
                    // After each batch, not each page (SCAN pages vary in size): a run left behind on a hung server
                    // prints the last report, which must count every batch before the one it hangs in. After the
                    // throttle's wait, so that the rate shown is the rate kept.
                    progress?.Report(Snapshot(completed: false));
                }

                // Saved only once the whole page is in: resuming repeats at most the page that was interrupted.
                _state.Position = page.Position;
                await SaveAsync().ConfigureAwait(false);
                if (page.Keys.Count == 0)
                {
                    // A page with no session (the rest of a shared Redis) has no batch to report after: the progress
                    // would stand still for as long as the listing crosses other data, and the run look hung.
                    progress?.Report(Snapshot(completed: false));
                }
            }
        }

        /// <summary>Before another pass, waits a bounded time for a slot migration in progress to finish, so the pass can hold still.</summary>
        private async Task WaitUntilSettledAsync(CancellationToken cancellationToken)
        {
            var waited = Stopwatch.StartNew();
            while (waited.Elapsed < SettleWait && !(await owner.Source.TopologyAsync(cancellationToken).ConfigureAwait(false)).Settled)
            {
                await Task.Delay(SettlePoll, cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>
        /// Copies one batch. Never cancelled half-way: a batch stopped between its write and the check back in the
        /// source could leave a removed session in the target, so cancellation waits for the batch to finish.
        /// </summary>
        private async Task CopyAsync(string[] keys)
        {
            _totals.Scanned += keys.Length;

            // The secondary is read before the primary: an application write lands in the primary first, so a
            // secondary value read first is never newer than the primary value read after it.
            var held = owner.ReplaceOlder ? await owner.Target.ReadAsync(keys, CancellationToken.None).ConfigureAwait(false) : null;
            var entries = await owner.Source.ReadAsync(keys, CancellationToken.None).ConfigureAwait(false);
            _totals.UserIdsCorrected += await owner.Source.IndexUsersAsync(keys, entries).ConfigureAwait(false);

            var copies = new List<SessionCopy>(keys.Length);
            var sameButForUser = new List<SessionCopy>();
            for (var i = 0; i < keys.Length; i++)
            {
                if (entries[i] is not { } entry || entry.Expiry.ToEntryOptions() is null)
                {
                    _totals.Skipped++;
                }
                else if (keys[i].Length > owner.Target.MaximumKeyLength)
                {
                    _totals.Errors++;
                }
                else if (held is null)
                {
                    copies.Add(new SessionCopy(keys[i], entry, WriteCondition.WhenAbsent));
                }
                else if (CopyComparison.Classify(entry, held[i], owner.ExpiryTolerance) is null)
                {
                    _totals.AlreadyPresent++;
                    if (held[i]!.UserIdDiffers)
                    {
                        sameButForUser.Add(new SessionCopy(keys[i], entry, ConditionFor(held[i])));
                    }
                }
                else
                {
                    copies.Add(new SessionCopy(keys[i], entry, ConditionFor(held[i])));
                }
            }

            var landed = await owner.Target.WriteAsync(copies).ConfigureAwait(false);
            var failed = copies.Count(c => c.Failed);
            _totals.Errors += failed;
            _totals.AlreadyPresent += copies.Count - landed.Count - failed;

            // A backfill does not read the target: any copy it held already may be one made without the application's
            // UserIdSessionKey. Sync read it, and knows which. Copies refused because the application rewrote the
            // session meanwhile are left out either way: that write recorded its own user.
            if (held is null)
            {
                var landedCopies = landed.Select(l => l.Copy).ToHashSet();
                sameButForUser.AddRange(copies.Where(c => !c.Failed && !landedCopies.Contains(c)));
            }

            _totals.UserIdsCorrected += await owner.Target.IndexUsersAsync(sameButForUser).ConfigureAwait(false);
            if (landed.Count == 0)
            {
                return;
            }

            var landedKeys = landed.ConvertAll(l => l.Copy.Key);
            // A session removed from the source after it was read (a logout: the application removes it from the
            // primary first, then the secondary — whose delete may come before the copy lands) is found here, and
            // exactly that copy is taken back.
            var stillHeld = await owner.Source.HoldAsync(landedKeys, CancellationToken.None).ConfigureAwait(false);
            var gone = landed.Where((_, i) => !stillHeld[i]).ToList();
            await owner.Target.TakeBackAsync(gone).ConfigureAwait(false);
            _totals.ResurrectionsAvoided += gone.Count;
            var kept = landed.Where((_, i) => stillHeld[i]).ToList();
            await owner.Target.KeepTimeLeftAsync(kept).ConfigureAwait(false);
            _totals.Copied += kept.Count(l => l.Copy.Condition.IfAbsent);
            _totals.Replaced += kept.Count(l => !l.Copy.Condition.IfAbsent);
        }

        private async Task ThrottleAsync(int processed, CancellationToken cancellationToken)
        {
            _processedThisRun += processed;
            if (_options.RatePerSecond is { } rate)
            {
                var due = TimeSpan.FromSeconds(_processedThisRun / rate) - _clock.Elapsed;
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        private Task SaveAsync()
        {
            _state.Totals = _totals;
            return _options.CheckpointPath is { } path ? _state.SaveAsync(path, CancellationToken.None) : Task.CompletedTask;
        }

        private BackfillProgress Snapshot(bool completed)
        {
            _totals.EstimatedTotal = Math.Max(EstimatedTotal * _state.Pass, _totals.Scanned);
            _totals.Resumed = resumed is not null;
            _totals.Completed = completed;
            _totals.Passes = _state.Pass;
            _totals.TopologyChanged = _state.TopologyChanged;
            _totals.Elapsed = _clock.Elapsed;
            _totals.ScannedThisRun = _processedThisRun;
            return _totals.Snapshot();
        }
    }
}
