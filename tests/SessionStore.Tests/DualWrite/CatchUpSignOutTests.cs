using SessionStore.DualWrite;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DualWrite;

/// <summary>
/// A sign-out while the catch-up copies the session into the store that missed its sign-in. The copy read the
/// primary, then wrote "only where absent" into the secondary; a removal between the two found nothing to delete
/// there, and the copy landed after it: the next read repaired the session back, signed in again.
/// </summary>
public sealed class CatchUpSignOutTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_sign_out_while_the_catch_up_copies_the_session_is_not_undone_by_the_copy()
    {
        await using var harness = new DualWriteHarness(nameof(SessionStorePhase.DualWriteRedisPrimary), postgres.ConnectionString, redis.Configuration);
        await harness.Cache.SetAsync("warm-" + Guid.NewGuid(), [0], DualWriteHarness.IdleTimeout, Token);
        var key = Guid.NewGuid().ToString();

        await harness.RefusePostgresWritesAsync(refuse: true);
        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token); // PostgreSQL misses the sign-in
        Assert.Equal(1, harness.Cache.GetStatistics().CatchUpBacklog["postgresql"]);
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(postgres.ConnectionString);
        await ExecuteAsync(dataSource, $"""
            CREATE FUNCTION "{harness.TableName}_slow"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.sid = '{key}' THEN PERFORM pg_sleep(1); END IF; RETURN NEW; END $$;
            CREATE TRIGGER "{harness.TableName}_slow" BEFORE INSERT ON "{harness.TableName}" FOR EACH ROW EXECUTE FUNCTION "{harness.TableName}_slow"();
            """);
        await harness.RefusePostgresWritesAsync(refuse: false); // answers again: the catch-up copies the session, slowly

        await DualWriteHarness.EventuallyAsync(
            async () => await ExecuteAsync(dataSource, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND strpos(query, $1) > 0", harness.TableName) is > 0L,
            "the catch-up's copy is under way");
        await harness.Cache.RemoveAsync(key, Token); // the sign-out
        await DualWriteHarness.EventuallyAsync(() => Task.FromResult(harness.Cache.GetStatistics().CatchUpBacklog["postgresql"] == 0), "the catch-up ended");

        var inPostgres = await harness.Postgres.GetAsync(key, Token);
        var readBack = await harness.Cache.GetAsync(key, Token);
        Assert.True(inPostgres is null && readBack is null,
            $"a signed-out session: in PostgreSQL {(inPostgres is null ? "none" : "still")}, read through the cache {(readBack is null ? "none" : "signed in again")}");
    }

    private static async Task<object?> ExecuteAsync(Npgsql.NpgsqlDataSource dataSource, string sql, params object[] parameters)
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = parameter });
        }

        return await command.ExecuteScalarAsync(Token);
    }
}
