using System.Net;

namespace SessionStore.Redis.Internal;

internal static class EndpointNames
{
    /// <summary>"host:port, host:port" for error messages; never the password a configuration string may hold.</summary>
    public static string Describe(IEnumerable<EndPoint> endpoints) =>
        string.Join(", ", endpoints.Select(endpoint => endpoint switch
        {
            DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
            IPEndPoint ip => ip.ToString(),
            _ => endpoint.ToString(),
        }));
}
