using System.Buffers;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using SessionStore.DualWrite;
using SessionStore.Internal;
using SessionStore.LocalServers;
using SessionStore.Postgres;
using SessionStore.Redis;
using MicrosoftRedisCache = Microsoft.Extensions.Caching.StackExchangeRedis.RedisCache;

namespace SessionStore.Benchmarks;

/// <summary>Allocated bytes and time per operation (BenchmarkDotNet's MemoryDiagnoser) for the codec, the Get paths, the PostgreSQL Set and a dual-write Get, 2 KB sessions.</summary>
[MemoryDiagnoser]
public class AllocationBenchmarks
{
    private const string Key = "00000000-0000-0000-0000-000000000001";
    private static readonly DistributedCacheEntryOptions Options = new() { SlidingExpiration = TimeSpan.FromMinutes(20) };
    private readonly byte[] _payload = SessionPayloads.Create(2_000);
    private readonly ArrayBufferWriter<byte> _buffer = new(8_192);
    private byte[] _json = [];
    private LocalPostgres? _postgres;
    private LocalRedis? _redis;
    private PostgresSessionCache? _postgresCache;
    private PostgresSessionCache? _byteaCache;
    private RedisSessionCache? _redisCache;
    private MicrosoftRedisCache? _microsoftCache;
    private ServiceProvider? _dualServices;
    private DualWriteCache? _dualCache;

    [GlobalSetup]
    public void Setup()
    {
        JsonPayloadCodec.Encode(_payload, _buffer);
        _json = _buffer.WrittenSpan.ToArray();
        _postgres = LocalPostgres.StartAsync(LocalPostgres.FindBinaries()!).GetAwaiter().GetResult();
        _redis = LocalRedis.StartAsync(LocalRedis.FindBinary()!).GetAwaiter().GetResult();
        _postgresCache = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = _postgres.ConnectionString, CreateTableIfMissing = true });
        _byteaCache = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = _postgres.ConnectionString, TableName = "sessions_bytea", PayloadFormat = PostgresPayloadFormat.Bytea, CreateTableIfMissing = true });
        _redisCache = new RedisSessionCache(new RedisSessionCacheOptions { Configuration = _redis.Configuration });
        _microsoftCache = new MicrosoftRedisCache(Microsoft.Extensions.Options.Options.Create(new RedisCacheOptions { Configuration = _redis.Configuration }));
        _dualServices = new ServiceCollection()
            .AddLogging()
            .AddDualWriteSessionStore(o =>
            {
                o.Phase = SessionStorePhase.DualWritePostgresPrimary;
                o.Postgres.ConnectionString = _postgres.ConnectionString;
                o.Postgres.TableName = "sessions_dual";
                o.Postgres.CreateTableIfMissing = true;
                o.Redis.Configuration = _redis.Configuration;
            })
            .BuildServiceProvider();
        _dualCache = _dualServices.GetRequiredService<DualWriteCache>();
        _postgresCache.Set(Key, _payload, Options);
        _dualCache.Set(Key, _payload, Options);
        _byteaCache.Set(Key, _payload, Options);
        _redisCache.Set(Key, _payload, Options);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _postgresCache?.Dispose();
        _byteaCache?.Dispose();
        _redisCache?.Dispose();
        _microsoftCache?.Dispose();
        _dualServices?.Dispose();
        _postgres?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _redis?.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Description = "JSONB codec: encode a session")]
    public int Encode()
    {
        _buffer.ResetWrittenCount();
        JsonPayloadCodec.Encode(_payload, _buffer);
        return _buffer.WrittenCount;
    }

    [Benchmark(Description = "JSONB codec: decode a session")]
    public int Decode()
    {
        _buffer.ResetWrittenCount();
        JsonPayloadCodec.Decode(_json, _buffer);
        return _buffer.WrittenCount;
    }

    [Benchmark(Description = "SessionStore PostgreSQL: GetAsync")]
    public Task<byte[]?> PostgresGet() => _postgresCache!.GetAsync(Key);

    [Benchmark(Description = "SessionStore PostgreSQL, bytea: GetAsync")]
    public Task<byte[]?> PostgresByteaGet() => _byteaCache!.GetAsync(Key);

    [Benchmark(Description = "SessionStore PostgreSQL: SetAsync")]
    public Task PostgresSet() => _postgresCache!.SetAsync(Key, _payload, Options);

    [Benchmark(Description = "Dual-write DualWritePostgresPrimary: GetAsync")]
    public Task<byte[]?> DualWriteGet() => _dualCache!.GetAsync(Key);

    [Benchmark(Description = "SessionStore Redis: GetAsync")]
    public Task<byte[]?> RedisGet() => _redisCache!.GetAsync(Key);

    [Benchmark(Description = "Microsoft RedisCache: GetAsync")]
    public Task<byte[]?> MicrosoftRedisGet() => _microsoftCache!.GetAsync(Key);

    /// <summary>Runs the benchmarks in this process (no generated project to build) and returns (name, mean ns, allocated bytes).</summary>
    public static List<(string Name, double MeanNanoseconds, long? AllocatedBytes)> Run()
    {
        var config = ManualConfig.CreateEmpty()
            .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddLogger(NullLogger.Instance)
            .WithOptions(ConfigOptions.DisableOptimizationsValidator)
            // Its logs and result files go to the temporary directory, not into the repository.
            .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "sessionstore-benchmarkdotnet"));
        var summary = BenchmarkRunner.Run<AllocationBenchmarks>(config);
        return summary.Reports
            .Select(r => (r.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo.Trim('\''), r.ResultStatistics?.Mean ?? double.NaN, r.GcStats.GetBytesAllocatedPerOperation(r.BenchmarkCase)))
            .ToList();
    }
}
