using FluentAssertions;
using IlgpuVit.Data;

namespace IlgpuVit.Tests.Data;

public class DataSetsTests
{
    [Fact]
    public void Unknown_names_and_missing_folders_are_explained()
    {
        var act = () => DataSets.Load("mnist", null, true);
        act.Should().Throw<ArgumentException>().WithMessage("Unknown data set 'mnist'. Known: fashion-mnist, cifar10.");
        act = () => DataSets.Load("cifar10", null, true);
        act.Should().Throw<ArgumentException>().WithMessage("cifar10 has no default folder*");
    }

    [SkippableFact]
    public void Fashion_mnist_loads_with_its_normalisation()
    {
        Skip.IfNot(File.Exists(Path.Combine(FashionMnist.DefaultFolder, "t10k-labels-idx1-ubyte.gz")), "dataset-fashion-mnist is not installed");
        var (test, norm) = DataSets.Load("fashion-mnist", null, train: false);
        test.Count.Should().Be(10_000);
        norm.Should().Be(FashionMnist.Normalization);
    }
}
