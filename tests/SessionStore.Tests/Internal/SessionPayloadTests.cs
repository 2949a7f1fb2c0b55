using System.Text;
using SessionStore.Internal;

namespace SessionStore.Tests.Internal;

public sealed class SessionPayloadTests
{
    [Fact]
    public void The_text_of_a_key_is_found_only_when_the_value_is_valid_utf8()
    {
        var session = new TestSessionPayload(new byte[16], [new("UserId", "ada"u8.ToArray()), new("Other", "bob"u8.ToArray()), new("Binary", [0xFF, 0x00])]);
        var bytes = session.ToBytes();

        Assert.Equal("ada", SessionPayload.FindText(bytes, "UserId"u8));
        Assert.Equal("bob", SessionPayload.FindText(bytes, "Other"u8));
        Assert.Null(SessionPayload.FindText(bytes, "Binary"u8));
        Assert.Null(SessionPayload.FindText(bytes, "Missing"u8));
        Assert.Null(SessionPayload.FindText(bytes, ""u8));
    }

    [Fact]
    public void Bytes_that_are_not_a_session_hold_no_text() =>
        Assert.Null(SessionPayload.FindText(Encoding.UTF8.GetBytes("UserId=ada"), "UserId"u8));
}
