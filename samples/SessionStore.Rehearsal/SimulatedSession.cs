using System.Globalization;
using SessionStore.Sample;

namespace SessionStore.Rehearsal;

/// <summary>What the rehearsal does with a session over the phases.</summary>
internal enum SessionKind
{
    /// <summary>Seeded in Redis, only read afterwards: it reaches PostgreSQL by read-repair alone.</summary>
    ReadOnly,

    /// <summary>Seeded in Redis or signed in during a phase; changed in every phase.</summary>
    Changing,

    /// <summary>Seeded in Redis, changed in PostgresOnly only and read in every other phase.</summary>
    ChangedInPostgresOnly,
}

/// <summary>One visitor of the sample: its session cookie and what its session must hold.</summary>
internal sealed class SimulatedSession(SessionKind kind)
{
    private readonly List<string> _cart = [];
    private string? _user;
    private int _visits;
    private int _lastLostStep = -1;

    public SessionKind Kind => kind;

    /// <summary>The session cookie (<c>name=value</c>), once the application has set one.</summary>
    public string? Cookie { get; set; }

    /// <summary>The page the application must answer with when the session holds what it should.</summary>
    public string Expected => SessionPages.Render(_user, _visits, _cart);

    public Request SignIn(string user) => new($"/sign-in?user={Uri.EscapeDataString(user)}", () => _user = user);

    public Request Visit() => new("/", () => _visits++);

    public Request AddToCart(string item) => new($"/cart/add?item={Uri.EscapeDataString(item)}", () => _cart.Add(item));

    public static Request Read() => new("/cart", () => { });

    /// <summary>The request this session sends in a round of a phase.</summary>
    public Request Next(SessionStorePhase phase, int step, int round) => kind switch
    {
        SessionKind.ReadOnly => Read(),
        SessionKind.ChangedInPostgresOnly when phase == SessionStorePhase.PostgresOnly && round == 0 => AddToCart(Item(step, round)),
        SessionKind.ChangedInPostgresOnly => Read(),

        // The change comes first in every phase: a write goes to both stores of a dual phase and so replaces any copy
        // the secondary kept from before (Redis's, after PostgresOnly). ChangedInPostgresOnly leaves that to the
        // cache's comparisons instead.
        _ => (round % 3) switch
        {
            0 => AddToCart(Item(step, round)),
            1 => Read(),
            _ => Visit(),
        },
    };

    /// <summary>Counts the session as lost in <paramref name="step"/> once, however often it is found wrong there.</summary>
    public bool MarkLost(int step) => Interlocked.Exchange(ref _lastLostStep, step) != step;

    private static string Item(int step, int round) => string.Create(CultureInfo.InvariantCulture, $"item-{step}.{round}");
}

/// <summary>A page to request and what it changes in the session when the application applies it.</summary>
internal sealed record Request(string Path, Action Apply);
