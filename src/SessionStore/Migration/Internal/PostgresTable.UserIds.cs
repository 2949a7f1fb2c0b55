using Npgsql;
using NpgsqlTypes;
using SessionStore.Internal;

namespace SessionStore.Migration.Internal;

/// <summary>
/// The table's per-user index is its <c>user_id</c> column, which every write fills from the value. A copy made
/// without the application's UserIdSessionKey, or with another, filled it with no user or the wrong one, and
/// "log out everywhere" missed those sessions: backfill and sync correct it in place, from the session the row holds.
/// </summary>
internal sealed partial class PostgresTable
{
    /// <summary>Corrects the rows just read as a copy source whose <c>user_id</c> is not the user their value names.</summary>
    public Task<int> IndexUsersAsync(IReadOnlyList<string> keys, StoredEntry?[] entries) =>
        RecordUsersAsync(keys.Select((key, i) => (Key: key, Entry: entries[i]))
            .Where(row => row.Entry is { UserIdDiffers: true })
            .Select(row => (row.Key, row.Entry!.Value))
            .ToList());

    /// <summary>Corrects the rows a copy found already holding the source's session, where their <c>user_id</c> is not the user it names.</summary>
    public Task<int> IndexUsersAsync(IReadOnlyList<SessionCopy> held) =>
        RecordUsersAsync(held.Select(copy => (copy.Key, copy.Entry.Value)).ToList());

    /// <summary>
    /// Records the user each value names for its key, in one batch, where the live row still holds that same session
    /// and records another user; returns the rows corrected. Nothing without a UserIdSessionKey: no user is recorded then.
    /// </summary>
    private Task<int> RecordUsersAsync(IReadOnlyList<(string Key, byte[] Value)> rows)
    {
        // A key PostgreSQL text cannot hold is in no row (see ReadAsync): sent, it would fail the whole batch.
        var recordable = rows.Where(row => !row.Key.Contains('\0', StringComparison.Ordinal)).ToList();
        return !cache.RecordsUsers || recordable.Count == 0
            ? Task.FromResult(0)
            : BoundedAsync("copy user id", _ => RecordUsersCoreAsync(recordable), CancellationToken.None);
    }

    private async Task<int> RecordUsersCoreAsync(IReadOnlyList<(string Key, byte[] Value)> rows)
    {
        using var batch = DataSource.CreateBatch();
        using var buffers = new PooledBuffers();
        foreach (var (key, value) in rows)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(Sql.RecordUserId)
            {
                Parameters =
                {
                    new NpgsqlParameter<string> { TypedValue = key },
                    cache.PayloadParameter(value, buffers),
                    new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)cache.UserIdOf(value) ?? DBNull.Value },
                },
            });
        }

        return await batch.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
    }
}
