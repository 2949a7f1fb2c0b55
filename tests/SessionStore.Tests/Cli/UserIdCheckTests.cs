using System.Text.Json;
using SessionStore.Tests.Migration;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Cli;

/// <summary>
/// A backfill run without the application's UserIdSessionKey copied every session with no user id: <c>verify</c> said
/// GO, and after the switch "log out everywhere" found none of them. Verify now says NO-GO, and sync or another
/// backfill with the key correct the rows in place.
/// </summary>
public sealed class UserIdCheckTests(PostgresServer postgres, RedisServer redis)
{
    private const int Sessions = 20;

    // Every fifth session names no user: its row rightly records none.
    private const int SessionsWithAUser = 16;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("dual-pg-primary")]
    [InlineData("dual-redis-primary")]
    public async Task Verify_is_not_ready_when_a_backfill_without_the_user_id_key_left_the_rows_without_their_user(string phase)
    {
        using var scenario = await BackfilledWithoutTheKeyAsync();

        var verify = await CliRunner.RunPlainAsync(VerifyCommandTests.Environment(scenario), Token, ["verify", "--full", .. CliRunner.Flags(scenario, phase)]);

        Assert.True(verify.ExitCode == 1, verify.Output);
        Assert.Matches($@"User id differs \(PostgreSQL user_id\)\D*{SessionsWithAUser}\D", verify.Output);
        Assert.Contains("PostgreSQL rows record no user, or another", verify.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dual-pg-primary")]
    [InlineData("dual-redis-primary")]
    public async Task Sync_with_the_key_corrects_the_user_ids_and_verify_then_says_GO(string phase)
    {
        using var scenario = await BackfilledWithoutTheKeyAsync();

        var sync = await CopyWithTheKeyThenVerifyGoAsync(scenario, "sync", phase);

        Assert.Equal(1, await scenario.Postgres.RevokeUserSessionsAsync("user3", Token));
        Assert.Equal(SessionsWithAUser, sync.GetProperty("userIdsCorrected").GetInt64());
    }

    [Fact]
    public async Task Backfill_run_again_with_the_key_corrects_the_user_ids_of_the_rows_it_keeps()
    {
        using var scenario = await BackfilledWithoutTheKeyAsync();

        var backfill = await CopyWithTheKeyThenVerifyGoAsync(scenario, "backfill", "dual-redis-primary");

        Assert.Equal(1, await scenario.Postgres.RevokeUserSessionsAsync("user7", Token));
        Assert.Equal(Sessions, backfill.GetProperty("alreadyPresent").GetInt64());
        Assert.Equal(SessionsWithAUser, backfill.GetProperty("userIdsCorrected").GetInt64());
    }

    [Fact]
    public async Task Verify_as_json_counts_the_rows_whose_user_id_differs()
    {
        using var scenario = await BackfilledWithoutTheKeyAsync();

        var verify = await CliRunner.RunPlainAsync(VerifyCommandTests.Environment(scenario), Token, ["verify", "--full", "--output", "json", .. CliRunner.Flags(scenario, "dual-pg-primary")]);

        Assert.True(verify.ExitCode == 1, verify.Output);
        using var report = JsonDocument.Parse(verify.Output);
        Assert.False(report.RootElement.GetProperty("readyForNextPhase").GetBoolean());
        Assert.Equal(SessionsWithAUser, report.RootElement.GetProperty("userIdDiffers").GetInt64());
        Assert.Equal(0, report.RootElement.GetProperty("mismatches").GetProperty("valueDiffers").GetInt64());
    }

    [Fact]
    public async Task Verify_without_a_user_id_key_compares_no_user_and_says_so()
    {
        using var scenario = await BackfilledWithoutTheKeyAsync();

        var text = await CliRunner.RunPlainAsync(WithoutTheKey(scenario), Token, ["verify", "--full", .. CliRunner.Flags(scenario, "dual-pg-primary")]);
        var json = await CliRunner.RunPlainAsync(WithoutTheKey(scenario), Token, ["verify", "--full", "--output", "json", .. CliRunner.Flags(scenario, "dual-pg-primary")]);

        Assert.True(text.ExitCode == 0, text.Output);
        Assert.Matches(@"User id differs \(PostgreSQL user_id\)\W*not checked", text.Output);
        Assert.Contains("User ids not checked: SessionStore:UserIdSessionKey is not set", text.Output, StringComparison.Ordinal);
        using var report = JsonDocument.Parse(json.Output);
        Assert.Equal(JsonValueKind.Null, report.RootElement.GetProperty("userIdDiffers").ValueKind);
    }

    private async Task<MigrationScenario> BackfilledWithoutTheKeyAsync()
    {
        var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        await scenario.WriteRedisSessionsAsync(Sessions, userOf: i => i % 5 == 0 ? null : $"user{i}");
        var backfill = await CliRunner.RunPlainAsync(WithoutTheKey(scenario), Token, ["backfill", "--checkpoint", VerifyCommandTests.TempFile(), .. CliRunner.Flags(scenario)]);
        Assert.True(backfill.ExitCode == 0, backfill.Output);
        return scenario;
    }

    /// <summary>Runs <paramref name="command"/> with the application's key, then <c>verify --full</c>, which must say GO; returns the copy's JSON report.</summary>
    private static async Task<JsonElement> CopyWithTheKeyThenVerifyGoAsync(MigrationScenario scenario, string command, string phase)
    {
        var copy = await CliRunner.RunPlainAsync(VerifyCommandTests.Environment(scenario), Token, [command, "--output", "json", "--checkpoint", VerifyCommandTests.TempFile(), .. CliRunner.Flags(scenario, phase)]);
        var verify = await CliRunner.RunPlainAsync(VerifyCommandTests.Environment(scenario), Token, ["verify", "--full", .. CliRunner.Flags(scenario, phase)]);
        Assert.True(copy.ExitCode == 0, copy.Output);
        Assert.True(verify.ExitCode == 0, verify.Output);
        using var report = JsonDocument.Parse(copy.Output);
        return report.RootElement.Clone();
    }

    private static Dictionary<string, string?> WithoutTheKey(MigrationScenario scenario) =>
        new() { ["SessionStore__Postgres__PayloadFormat"] = scenario.PayloadFormat.ToString() };
}
