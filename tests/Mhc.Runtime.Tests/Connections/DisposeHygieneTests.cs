using Mhc.Runtime.Monitoring;
using Mhc.Runtime.Tests.Support;

namespace Mhc.Runtime.Tests.Connections;

public class DisposeHygieneTests
{
    public static TheoryData<ConnectionKind, OpsImplementation> Variants() => new()
    {
        { ConnectionKind.Mhc, OpsImplementation.Fused },
        { ConnectionKind.Mhc, OpsImplementation.Reference },
        { ConnectionKind.Hc, OpsImplementation.Fused },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void TrainingStepAndProbeLeaveNoLiveTensorsBehind(ConnectionKind kind, OpsImplementation implementation)
    {
        manual_seed(1);
        using var model = new TinyGpt(Models.Small, new HyperConnectionOptions { Kind = kind, Implementation = implementation });
        using var optimizer = optim.AdamW(model.parameters(), lr: 1e-3);
        using var tokens = Models.Tokens();

        void Step()
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = model.forward(tokens).square().mean();
            loss.backward();
            optimizer.step();
        }

        Step(); // creates gradients and optimizer state once
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 3; i++) Step();
        AmaxProbe.Measure(model, tokens);
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        Assert.Equal(before, after);
    }
}
