using System.Text;
using System.Text.Json;

namespace SessionStore.Sample;

/// <summary>
/// The pages that live on the session alone: a visit counter, sign-in and a cart. Each answers with the
/// session's contents as <see cref="Render"/> writes them, which is what the rehearsal checks.
/// </summary>
public static class SessionPages
{
    /// <summary>The session key of the signed-in user; <c>SessionStore:UserIdSessionKey</c> in appsettings.json names the same.</summary>
    public const string UserIdKey = "UserId";

    private const string VisitsKey = "Visits";
    private const string CartKey = "Cart";

    /// <summary>Maps <c>/</c>, <c>/sign-in?user=</c>, <c>/cart/add?item=</c> and <c>/cart</c>.</summary>
    /// <param name="app">The application to add the pages to.</param>
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext context, CancellationToken aborted) =>
            ShowAsync(context, session => session.SetInt32(VisitsKey, (session.GetInt32(VisitsKey) ?? 0) + 1), aborted));
        app.MapGet("/sign-in", (HttpContext context, string user, CancellationToken aborted) =>
            ShowAsync(context, session => session.SetString(UserIdKey, user), aborted));
        app.MapGet("/cart/add", (HttpContext context, string item, CancellationToken aborted) =>
            ShowAsync(context, session => session.SetString(CartKey, JsonSerializer.Serialize<string[]>([.. CartOf(session), item])), aborted));
        app.MapGet("/cart", (HttpContext context, CancellationToken aborted) => ShowAsync(context, change: null, aborted));
    }

    /// <summary>The text every session page answers with.</summary>
    /// <param name="user">The signed-in user, if any.</param>
    /// <param name="visits">How often <c>/</c> was visited in this session.</param>
    /// <param name="cart">The cart's items, oldest first.</param>
    /// <returns>A few lines of plain text.</returns>
    public static string Render(string? user, int visits, IReadOnlyList<string> cart)
    {
        ArgumentNullException.ThrowIfNull(cart);
        return new StringBuilder()
            .Append("User:   ").AppendLine(user ?? "(not signed in)")
            .Append("Visits: ").Append(visits).AppendLine()
            .Append("Cart:   ").AppendLine(cart.Count == 0 ? "(empty)" : string.Join(", ", cart))
            .ToString();
    }

    // The session is loaded asynchronously first: otherwise the middleware's first access loads it with a blocking call.
    private static async Task<string> ShowAsync(HttpContext context, Action<ISession>? change, CancellationToken aborted)
    {
        var session = context.Session;
        await session.LoadAsync(aborted);
        change?.Invoke(session);
        return Render(session.GetString(UserIdKey), session.GetInt32(VisitsKey) ?? 0, CartOf(session));
    }

    private static string[] CartOf(ISession session) =>
        session.GetString(CartKey) is { } json ? JsonSerializer.Deserialize<string[]>(json) ?? [] : [];
}
