using System.Diagnostics;
using CsCheck;
using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Internal;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Limits;

/// <summary>
/// Every combination of absolute, relative and sliding expiration, extremes included, and keys of any UTF-16,
/// written to the real PostgreSQL and Redis stores: both give the same answer (the same exception, or the same
/// lifetime within a second), no key is ever merged with another, and no entry expires earlier than asked beyond
/// the documented touch tolerance.
/// </summary>
public sealed class EntryOptionsPropertyTests(PostgresServer postgres, RedisServer redis)
{
    private static readonly TimeSpan Agreement = TimeSpan.FromSeconds(1);

    // Entries shorter than this may be gone before they are read back on a loaded machine; for them only the
    // answer to the Set is compared.
    private static readonly TimeSpan Observable = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan NearFuture = TimeSpan.FromSeconds(5);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static readonly Gen<TimeSpan> Duration = Gen.OneOf(
        Gen.Long[1, TimeSpan.TicksPerSecond].Select(TimeSpan.FromTicks),
        Gen.Long[TimeSpan.TicksPerSecond, TimeSpan.TicksPerDay].Select(TimeSpan.FromTicks),
        Gen.Long[EntryExpiration.MaximumLifetime.Ticks - TimeSpan.TicksPerDay, EntryExpiration.MaximumLifetime.Ticks + TimeSpan.TicksPerDay].Select(TimeSpan.FromTicks),
        Gen.Long[TimeSpan.TicksPerDay, TimeSpan.MaxValue.Ticks].Select(TimeSpan.FromTicks),
        Gen.Const(TimeSpan.MaxValue));

    /// <summary>An absolute expiration as an offset from the moment of the Set; null offset = DateTimeOffset.MaxValue.</summary>
    private static readonly Gen<AbsoluteChoice> Absolute = Gen.Frequency(
        // A future instant at least 5 s away: one closer may pass between the two stores' writes, and the second
        // would rightly refuse it (instants that close are covered with a fixed clock in EntryExpirationTests).
        (6, Duration.Select(d => new AbsoluteChoice(d < NearFuture ? d + NearFuture : d, Past: false))),
        (1, Gen.Long[1, TimeSpan.TicksPerDay * 365].Select(t => new AbsoluteChoice(TimeSpan.FromTicks(t), Past: true))),
        (2, Gen.Const(new AbsoluteChoice(null, Past: false))),
        (1, Gen.Const(new AbsoluteChoice(null, Past: true))));

    private static readonly Gen<string> Key = Gen.Frequency(
        (8, Gen.Guid.Select(g => g.ToString())),
        (1, Gen.String[Gen.Char, 0, 300]),
        (1, Gen.String[Gen.Char.AlphaNumeric, 250, 260]),
        (1, Gen.Select(Gen.String[Gen.Char['\uD7FF', '\uE000'], 1, 4], Gen.String[Gen.Char.AlphaNumeric, 0, 4]).Select((a, b) => a + b)));

    private static readonly Gen<Case> Cases = Gen.Select(
        Key,
        Absolute.Null(),
        Maybe(Duration),
        Maybe(Duration),
        (key, absolute, relative, sliding) => new Case(key, absolute, relative, sliding));

    private static Gen<TimeSpan?> Maybe(Gen<TimeSpan> gen) => Gen.Frequency((3, gen.Select(d => (TimeSpan?)d)), (1, Gen.Const((TimeSpan?)null)));

    [Fact]
    public async Task Both_stores_answer_every_combination_of_entry_options_alike()
    {
        using var pair = new StorePair(postgres, redis);

        // The first write creates the table and the first read loads the script: not part of any sample's timing.
        foreach (var store in pair.Both)
        {
            await store.SetAsync("warm-up", new byte[] { 0 }, new DistributedCacheEntryOptions(), Token);
            await store.GetEntryAsync("warm-up", async: true, Token);
        }

        var tried = 0;
        var refused = 0;
        var compared = 0;
        var never = 0;
        await Cases.SampleAsync(async c =>
        {
            tried++;
            var value = Guid.NewGuid().ToByteArray();
            var now = DateTimeOffset.UtcNow;
            var options = c.Options(now);
            var clock = Stopwatch.StartNew();
            var postgresError = await Record.ExceptionAsync(() => pair.Postgres.SetAsync(c.Key, value, options, Token));
            var redisError = await Record.ExceptionAsync(() => pair.Redis.SetAsync(c.Key, value, options, Token));

            Assert.Equal(postgresError?.GetType(), redisError?.GetType());
            if (postgresError is not null)
            {
                refused++;
                Assert.IsAssignableFrom<ArgumentException>(postgresError);
                return;
            }

            var expected = c.ExpectedTimeToLive(now);
            if (expected is { } ttl && ttl < Observable)
            {
                return;
            }

            compared++;
            never += expected is null ? 1 : 0;
            var postgresEntry = await pair.Store("postgresql").GetEntryAsync(c.Key, async: true, Token);
            var redisEntry = await pair.Store("redis").GetEntryAsync(c.Key, async: true, Token);
            var elapsed = clock.Elapsed;

            // Never a poisoned key: each store gives back exactly this sample's value for this sample's key.
            Assert.Equal(value, postgresEntry?.Value);
            Assert.Equal(value, redisEntry?.Value);

            Assert.Equal(postgresEntry!.Expiry.Sliding, redisEntry!.Expiry.Sliding);
            AssertAgree(postgresEntry.Expiry.Remaining, redisEntry.Expiry.Remaining, Agreement + elapsed);
            AssertAgree(postgresEntry.Expiry.AbsoluteRemaining, redisEntry.Expiry.AbsoluteRemaining, Agreement + elapsed);
            if (expected is { } asked)
            {
                // Never silently early: at most the touch tolerance of the window, and the time this check took.
                var tolerance = (postgresEntry.Expiry.Sliding ?? TimeSpan.Zero) * SessionCacheProviderOptions.DefaultTouchThreshold;
                foreach (var remaining in new[] { postgresEntry.Expiry.Remaining, redisEntry.Expiry.Remaining })
                {
                    Assert.NotNull(remaining);
                    Assert.InRange(remaining.Value, asked - elapsed - Agreement - tolerance, asked + TimeSpan.FromMilliseconds(1));
                }
            }
            else
            {
                Assert.Null(postgresEntry.Expiry.Remaining);
                Assert.Null(redisEntry.Expiry.Remaining);
            }
        }, iter: 1_000, threads: 1);

        TestContext.Current.TestOutputHelper?.WriteLine($"{tried} option sets tried: {refused} refused alike by both stores, {compared} read back and compared ({never} never expiring).");
        Assert.InRange(refused, 1, tried - 1);
        Assert.InRange(compared, tried / 4, tried);
        Assert.InRange(never, 1, compared - 1);
    }

    /// <summary>The two stores' figures differ at most by the time the sample took plus a second.</summary>
    private static void AssertAgree(TimeSpan? postgres, TimeSpan? redis, TimeSpan tolerance)
    {
        Assert.Equal(postgres is null, redis is null);
        if (postgres is { } p && redis is { } r)
        {
            Assert.InRange((p - r).Duration(), TimeSpan.Zero, tolerance);
        }
    }

    internal sealed record AbsoluteChoice(TimeSpan? Offset, bool Past)
    {
        public DateTimeOffset At(DateTimeOffset now) => (Offset, Past) switch
        {
            (null, false) => DateTimeOffset.MaxValue,
            (null, true) => DateTimeOffset.MinValue,
            ({ } o, false) => o < DateTimeOffset.MaxValue - now ? now + o : DateTimeOffset.MaxValue,
            ({ } o, true) => now - o,
        };
    }

    internal sealed record Case(string Key, AbsoluteChoice? Absolute, TimeSpan? Relative, TimeSpan? Sliding)
    {
        public DistributedCacheEntryOptions Options(DateTimeOffset now) => new()
        {
            AbsoluteExpiration = Absolute?.At(now),
            AbsoluteExpirationRelativeToNow = Relative,
            SlidingExpiration = Sliding,
        };

        /// <summary>The documented rule, written independently: the shorter of window and cap; 100 years or more is never.</summary>
        public TimeSpan? ExpectedTimeToLive(DateTimeOffset now)
        {
            var cap = Relative ?? (Absolute is { } a ? a.At(now) - now : null);
            var finiteCap = cap >= EntryExpiration.MaximumLifetime ? null : cap;
            var finiteSliding = Sliding >= EntryExpiration.MaximumLifetime ? null : Sliding;
            return (finiteCap, finiteSliding) switch
            {
                ({ } c, { } s) => c < s ? c : s,
                ({ } c, null) => c,
                (null, { } s) => s,
                _ => null,
            };
        }

        public override string ToString() =>
            $"key of {Key.Length} chars, absolute {(Absolute is null ? "none" : $"{(Absolute.Past ? "-" : "+")}{Absolute.Offset?.ToString() ?? "extreme"}")}, relative {Relative?.ToString() ?? "none"}, sliding {Sliding?.ToString() ?? "none"}";
    }
}
